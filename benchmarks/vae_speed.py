"""Baseline VAE speed: training throughput beside loader-only throughput, and decode latency, each with a peer measured in the same run.

    python benchmarks/vae_speed.py --res 4 --decode-res 2          # CPU (the default device here)
    python benchmarks/vae_speed.py --res 2 --device cuda --batch-size 16 --workers 8   # GPU

1. Training: volumes/s of full training steps (forward, Poisson + KL loss, backward, AdamW) of the
   default architecture (configs/vae-subset-4mm.yaml) on real maps from the prepared cache, fed by a
   DataLoader; beside it, the same DataLoader alone (read, augment, collate, and on a GPU the copy
   to the device). loader/train > 1 means the loader is not the bottleneck.
2. Decode latency: milliseconds to decode one latent vector into a map on the `--decode-res` grid
   (median of repeated single-map decodes, on the CPU, as the Latent Slider does), against the 50 ms
   budget of a live slider and against NiMARE's ALEKernel(fwhm=12) making one study's map on the same
   grid (the map a researcher computes today).

Results print as a table and are written to benchmarks/results/vae_speed.json (git-ignored).
"""
from __future__ import annotations
import argparse, json, os, time
from pathlib import Path
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--scale', default='subset', choices=['mock', 'subset', 'full'])
    ap.add_argument('--res', type=int, default=4, choices=[2, 4, 8], help='grid of the training measurement')
    ap.add_argument('--decode-res', type=int, default=2, choices=[2, 4, 8], help='grid of the decode latency measurement')
    ap.add_argument('--data-dir', default=None, help='Neurosynth folder (default $SEMATLAS_NEUROSYNTH_DIR or data/neurosynth)')
    ap.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    ap.add_argument('--batch-size', type=int, default=8)
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--steps', type=int, default=30, help='timed training steps (after 3 warm-up steps)')
    ap.add_argument('--config', default=str(Path(__file__).resolve().parents[1]/'configs'/'vae-subset-4mm.yaml'))
    args = ap.parse_args()

    import torch
    from sematlas.data.grid import MNIGrid
    from sematlas.training.config import TrainConfig
    from sematlas.models.vae import ResNetVAE

    cfg = TrainConfig.load(args.config)
    dev = torch.device(args.device)
    amp = dev.type == 'cuda'
    results = {'device': torch.cuda.get_device_name() if amp else f'cpu ({os.cpu_count()} cores, {torch.get_num_threads()} threads)',
               'res': args.res, 'batch_size': args.batch_size, 'workers': args.workers, 'architecture': cfg.model.to_dict()}

    cfg = cfg.with_overrides({'data.scale': args.scale, 'data.res': args.res, 'data.data_dir': args.data_dir,
                              'loop.batch_size': args.batch_size, 'loop.num_workers': args.workers})
    dm = cfg.kind.datamodule(cfg)
    dm.prepare_data(); dm.setup()

    def batches(n):
        it = iter(dm.train_dataloader())
        for _ in range(n):
            try: b = next(it)
            except StopIteration: it = iter(dm.train_dataloader()); b = next(it)
            yield {'volume': b['volume'].to(dev, non_blocking=True)}

    n = args.steps + 3
    t0 = None
    for i, x in enumerate(batches(n)):
        if i == 3: t0 = time.perf_counter()
    if amp: torch.cuda.synchronize()
    loader = args.steps*args.batch_size/(time.perf_counter() - t0)

    module = cfg.kind.build(cfg, dm).to(dev)
    module.model.set_base_rate(dm.mean_map)
    opt = module.configure_optimizers()
    if amp: torch.cuda.reset_peak_memory_stats()
    for i, x in enumerate(batches(n)):
        if i == 3:
            if amp: torch.cuda.synchronize()
            t0 = time.perf_counter()
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
            loss = module.loss_terms(x)['loss']
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    if amp: torch.cuda.synchronize()
    train = args.steps*args.batch_size/(time.perf_counter() - t0)
    results.update(train_vol_per_s=train, loader_vol_per_s=loader, loader_over_train=loader/train)
    if amp: results['gpu_peak_mem_gb'] = torch.cuda.max_memory_allocated()/1e9

    # decode latency, one map on the CPU
    torch.manual_seed(0)
    m = ResNetVAE(args.decode_res, **cfg.model.kwargs()).eval()
    z = torch.randn(1, cfg.latent_dim)
    times = []
    with torch.inference_mode():
        for i in range(25):
            t = time.perf_counter(); out = m.intensity(m.decode(z))[0, 0].numpy(); times.append(time.perf_counter() - t)
    decode_ms = float(np.median(times[5:])*1e3)

    from nimare.meta.kernel import ALEKernel
    from nimare.dataset import Dataset
    g = MNIGrid.at(args.decode_res)
    from sematlas.data.prepare import prepare
    data = prepare(args.scale, args.res, args.data_dir, build_cache=False, progress=False)
    sid = data.splits['train'][0]
    p = data.peaks[data.peaks['id'] == sid]
    ds = Dataset({sid: {'contrasts': {'1': {'coords': {'space': 'MNI', 'x': p['x'].tolist(), 'y': p['y'].tolist(), 'z': p['z'].tolist()}}}}},
                 target='mni152_2mm', mask=g.mask_img())
    k = ALEKernel(fwhm=12)
    k.transform(ds, return_type='array')
    ale = []
    for i in range(10):
        t = time.perf_counter(); k.transform(ds, return_type='array'); ale.append(time.perf_counter() - t)
    ale_ms = float(np.median(ale)*1e3)
    results.update(decode_res=args.decode_res, decode_ms=decode_ms, decode_budget_ms=50.0, budget_over_decode=50.0/decode_ms,
                   nimare_ale_one_study_ms=ale_ms, ale_over_decode=ale_ms/decode_ms)

    rows = [('training step, default VAE', f"{train:.1f} vol/s", ''),
            ('DataLoader alone (same settings)', f"{loader:.1f} vol/s", f"{loader/train:.1f}x training: {'not' if loader > train else 'IS'} the bottleneck"),
            (f'decode one map at {args.decode_res} mm, CPU', f"{decode_ms:.1f} ms", f"{50/decode_ms:.2f}x inside the 50 ms budget"),
            (f'NiMARE ALEKernel(12) one study at {args.decode_res} mm', f"{ale_ms:.1f} ms", f"{ale_ms/decode_ms:.2f}x the decode time")]
    if amp: rows.insert(1, ('peak GPU memory', f"{results['gpu_peak_mem_gb']:.2f} GB", ''))
    print(f"{results['device']}; training at {args.res} mm, batch {args.batch_size}, {args.workers} workers")
    w = max(len(r[0]) for r in rows)
    for r in rows: print(f"{r[0]:<{w}}  {r[1]:>12}  {r[2]}")
    out = Path(__file__).resolve().parent/'results'/'vae_speed.json'
    out.parent.mkdir(exist_ok=True); out.write_text(json.dumps(results, indent=1))


if __name__ == '__main__':
    main()
