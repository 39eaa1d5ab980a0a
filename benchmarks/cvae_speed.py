"""Conditional VAE speed: training throughput of each backbone against the baseline VAE, and the latency of generating one map from conditions, measured in the same run.

    python benchmarks/cvae_speed.py --res 4 --decode-res 2 --data-dir ../shared/neurosynth     # CPU
    python benchmarks/cvae_speed.py --res 2 --device cuda --batch-size 16 --workers 8           # GPU

1. Training: volumes/s of full training steps (forward, every loss term, backward, AdamW) on real maps
   and conditions from the prepared cache, for the baseline VAE (configs/vae-subset-4mm.yaml) and the
   conditional model with the ResNet and the DenseNet backbone (configs/cvae-subset-4mm.yaml, with
   its year adversary). Reported as the ratio to the baseline's throughput.
2. Generation latency: milliseconds to generate one map from a condition vector on the `--decode-res`
   grid (median of repeated single-map calls, on the CPU, as the Counterfactual Machine's dashboard
   does), against decoding one map with the baseline VAE (its peer: the Latent Slider's call).

Results print as a table and are written to benchmarks/results/cvae_speed.json (git-ignored).
"""
from __future__ import annotations
import argparse, json, os, time
from pathlib import Path
import numpy as np


def main():
    root = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--scale', default='subset', choices=['mock', 'subset', 'full'])
    ap.add_argument('--res', type=int, default=4, choices=[2, 4, 8], help='grid of the training measurement')
    ap.add_argument('--decode-res', type=int, default=2, choices=[2, 4, 8], help='grid of the generation latency measurement')
    ap.add_argument('--data-dir', default=None, help='Neurosynth folder (default $SEMATLAS_NEUROSYNTH_DIR or data/neurosynth)')
    ap.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    ap.add_argument('--batch-size', type=int, default=8)
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--steps', type=int, default=10, help='timed training steps per model (after 2 warm-up steps)')
    args = ap.parse_args()

    import torch
    from sematlas.training.config import TrainConfig

    base_cfg, cond_cfg = TrainConfig.load(root/'configs'/'vae-subset-4mm.yaml'), TrainConfig.load(root/'configs'/'cvae-subset-4mm.yaml')
    dev = torch.device(args.device)
    results = {'device': torch.cuda.get_device_name() if dev.type == 'cuda' else f'cpu ({os.cpu_count()} cores, {torch.get_num_threads()} threads)',
               'res': args.res, 'batch_size': args.batch_size, 'steps': args.steps}
    where = {'data.scale': args.scale, 'data.res': args.res, 'data.data_dir': args.data_dir, 'loop.batch_size': args.batch_size, 'loop.num_workers': args.workers}
    dm = cond_cfg.kind.datamodule(cond_cfg.with_overrides(where))
    dm.prepare_data(); dm.setup()

    def models(res):
        "The baseline and the conditional model with each backbone, built from their configs as training builds them."
        yield 'baseline VAE (ResNet)', base_cfg.kind.build(base_cfg.with_overrides({'data.res': res}), dm)
        for backbone in ('resnet', 'densenet'):
            c = cond_cfg.with_overrides({'data.res': res, 'model.backbone': backbone})
            yield f'conditional VAE ({backbone})', c.kind.build(c, dm)

    def batches(n):
        it = iter(dm.train_dataloader())
        for _ in range(n):
            try: b = next(it)
            except StopIteration: it = iter(dm.train_dataloader()); b = next(it)
            yield {k: (v.to(dev) if torch.is_tensor(v) else v) for k, v in b.items()}

    train = {}
    for name, m in models(args.res):
        m = m.to(dev).train()
        opt = torch.optim.AdamW(m.parameters(), lr=1e-4)
        t0, n = None, 0
        for i, b in enumerate(batches(args.steps + 2)):
            if i == 2:
                if dev.type == 'cuda': torch.cuda.synchronize()
                t0 = time.perf_counter()
            loss = m.loss_terms(b)['loss']
            opt.zero_grad(); loss.backward(); opt.step()
            n += len(b['volume']) if i >= 2 else 0
        if dev.type == 'cuda': torch.cuda.synchronize()
        train[name] = {'vol_per_s': n/(time.perf_counter() - t0), 'parameters_m': sum(p.numel() for p in m.parameters())/1e6,
                       'receptive_field_mm': m.model.encoder_receptive_field_mm()}
        del m, opt
    base = train['baseline VAE (ResNet)']['vol_per_s']
    for v in train.values(): v['ratio_to_baseline'] = v['vol_per_s']/base
    results['training'] = train

    latency = {}
    item = dm.datasets['val'][0]
    batch = {'cond': item['cond'][None], 'cond_mask': item['cond_mask'][None]}
    with torch.no_grad():
        for name, m in models(args.decode_res):
            m = m.eval()
            z = torch.zeros(1, m.model.latent_dim)
            call = lambda m=m: m.generate(z, batch)
            for _ in range(3): call()
            times = []
            for _ in range(15):
                t = time.perf_counter(); call(); times.append(time.perf_counter() - t)
            latency[name] = {'ms': 1000*float(np.median(times))}
    peer = latency['baseline VAE (ResNet)']['ms']
    for v in latency.values(): v['ratio_to_baseline_decode'] = v['ms']/peer
    results['generation_latency_cpu'] = {'res': args.decode_res, **latency}

    print(f"device: {results['device']}; training on the {args.res} mm grid, batch {args.batch_size}")
    print(f"{'model':32s} {'vol/s':>8s} {'x baseline':>10s} {'params M':>9s} {'RF mm':>6s}")
    for k, v in train.items(): print(f"{k:32s} {v['vol_per_s']:8.2f} {v['ratio_to_baseline']:10.2f} {v['parameters_m']:9.2f} {v['receptive_field_mm']:6.0f}")
    print(f"one map at {args.decode_res} mm on the CPU:")
    for k, v in latency.items(): print(f"{k:32s} {v['ms']:8.1f} ms {v['ratio_to_baseline_decode']:6.2f}x the baseline decode")
    out = root/'benchmarks'/'results'/'cvae_speed.json'
    out.parent.mkdir(exist_ok=True); out.write_text(json.dumps(results, indent=1))
    print(f"wrote {out}")


if __name__ == '__main__':
    main()
