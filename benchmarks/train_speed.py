"""Training speed of the conditional model: today's trainer against the fast one, on the same data for the same number of examples.

    python benchmarks/train_speed.py --data-dir ../shared/neurosynth                  # CPU, 4 mm subset, 4,000 examples
    python benchmarks/train_speed.py --data-dir ../shared/neurosynth --device cuda --res 2 --scale full --examples 20000

Each variant is a real training run through `sematlas.training.train.train` (Lightning, the model kind's data
module and callbacks) from the same seed, stopped after `--examples` training examples; a callback times the
training steps alone (volumes/s, no validation, no start-up). The reference is `configs/cvae-subset-4mm.yaml`
as trained until now (default body, DataLoader with a worker, fp32); the candidate is `configs/cvae-full-4mm.yaml`
(fast body, resident data, bf16); between them, each option alone, for speed. The reference and the candidate are
then scored on the validation split (the ELBO at beta = 1 plus the generation term, and r), so speed is not
bought with quality. On a GPU the candidate's model FLOPs per volume (forward and backward, counted by
`torch.utils.flop_counter`) give the share of the card's bf16 peak it reaches. Writes benchmarks/results/train_speed.json.
"""
import argparse, json, os, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAST = {'model.stem_kernel': 2, 'model.top_width': 8, 'model.tail': 'shuffle', 'model.head_kernel': 1, 'model.top_layers': 1}
PEAK_BF16 = {'H100': 989e12, 'H200': 989e12, 'A100': 312e12}          # dense bf16 FLOP/s of the card


def variants(quick: bool) -> dict:
    "Name -> (config file, overrides): the reference, each option alone, and the candidate."
    ref = ('cvae-subset-4mm.yaml', {'data.resident': False, 'loop.num_workers': 1})
    out = {'today: default body, DataLoader (1 worker), fp32': ref,
           'candidate: fast body, resident data, bf16': ('cvae-full-4mm.yaml', {})}
    if quick: return out
    out.update({'resident data (today\'s body, fp32)': ('cvae-subset-4mm.yaml', {'data.resident': True, 'loop.num_workers': 0}),
                **{f'+ {k.split(".")[1]}={v} alone (resident, fp32)': ('cvae-subset-4mm.yaml', {'data.resident': True, 'loop.num_workers': 0, k: v})
                   for k, v in FAST.items() if k != 'model.top_layers'},
                'fast body (resident, fp32)': ('cvae-subset-4mm.yaml', {'data.resident': True, 'loop.num_workers': 0, **FAST}),
                'fast body, bf16, batch 8': ('cvae-full-4mm.yaml', {'loop.batch_size': 8})})
    return out


def step_timer():
    "A Lightning callback that times training batches alone and counts their volumes."
    from lightning.pytorch.callbacks import Callback
    import torch
    class StepTimer(Callback):
        def __init__(self): self.seconds, self.volumes, self.steps = 0.0, 0, 0
        def _sync(self, module):
            if module.device.type == 'cuda': torch.cuda.synchronize()
        def on_train_batch_start(self, trainer, module, batch, i): self._sync(module); self.t = time.perf_counter()
        def on_train_batch_end(self, trainer, module, out, batch, i):
            self._sync(module)
            if self.steps >= 3: self.seconds += time.perf_counter() - self.t; self.volumes += len(batch['volume'])   # 3 warm-up steps
            self.steps += 1
    return StepTimer()


def validation(run, device: str) -> dict:
    "The run's model scored on the validation split: loss (ELBO at beta = 1 plus generation), reconstruction and generation r."
    import lightning as L
    module, cfg = run.load_model(device), run.config
    dm = cfg.kind.datamodule(cfg.with_overrides({'data.resident': False, 'loop.num_workers': 0}))
    dm.setup()
    accelerator = 'gpu' if device.startswith('cuda') else 'cpu'
    m = L.Trainer(accelerator=accelerator, devices=1, logger=False, enable_progress_bar=False, enable_model_summary=False).validate(
        module, dm.val_dataloader(), verbose=False)[0]
    return {k: m[f'val/{k}'] for k in ('loss', 'recon', 'kl', 'gen_nll', 'r', 'r_gen', 'r_base') if f'val/{k}' in m}


def model_flops(run, device: str, batch: int = 8) -> float:
    "FLOPs of one training step (forward and backward of the objective) per volume, counted by torch."
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    module, cfg = run.load_model(device), run.config
    dm = cfg.kind.datamodule(cfg.with_overrides({'data.resident': False, 'loop.num_workers': 0, 'loop.batch_size': batch}))
    dm.setup()
    b = {k: v.to(device) if torch.is_tensor(v) else v for k, v in next(iter(dm.train_dataloader())).items()}
    module.train()
    with FlopCounterMode(display=False) as fc:
        module.loss_terms(b)['loss'].backward()
    return fc.get_total_flops()/batch


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data-dir', default=None)
    ap.add_argument('--scale', default='subset', choices=['mock', 'subset', 'full'])
    ap.add_argument('--res', type=int, default=4)
    ap.add_argument('--examples', type=int, default=4000, help='training examples per variant (the same for all)')
    ap.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    ap.add_argument('--threads', type=int, default=None, help='CPU threads (default: torch\'s choice)')
    ap.add_argument('--quick', action='store_true', help='only the reference and the candidate')
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'train_speed.json'))
    args = ap.parse_args()
    import torch
    from sematlas.training.config import TrainConfig
    from sematlas.training.train import train
    results = {'device': torch.cuda.get_device_name() if args.device.startswith('cuda') else f'cpu ({os.cpu_count()} cores)',
               'scale': args.scale, 'res': args.res, 'examples': args.examples, 'threads': args.threads, 'variants': {}}
    runs_dir = Path(tempfile.mkdtemp(prefix='train-speed-'))
    for name, (config, overrides) in variants(args.quick).items():
        cfg = TrainConfig.load(ROOT/'configs'/config, {
            'data.scale': args.scale, 'data.res': args.res, 'data.data_dir': args.data_dir, 'loop.runs_dir': str(runs_dir),
            'loop.device': 'gpu' if args.device.startswith('cuda') else 'cpu', 'loop.logger': 'csv', 'loop.max_minutes': None,
            'loop.lr_schedule': 'constant', 'loop.warmup_steps': 0, 'loop.epochs': 1000, 'loop.threads': args.threads,
            'loop.figure_every': 1000, 'name': f'v{len(results["variants"])}', **overrides})
        cfg = cfg.with_overrides({'loop.max_steps': args.examples//cfg.loop.batch_size})
        timer = step_timer()
        t = time.time()
        run = train(cfg, progress=False, callbacks=[timer])
        r = {'config': config, 'overrides': overrides, 'batch_size': cfg.loop.batch_size, 'precision': run.info['precision'],
             'vol_per_s': timer.volumes/timer.seconds, 'wall_s': time.time() - t}
        if name.startswith(('today', 'candidate')): r['validation'] = validation(run, args.device)
        if name.startswith('candidate') and args.device.startswith('cuda'):
            r['flops_per_volume'] = model_flops(run, args.device)
            peak = next((v for k, v in PEAK_BF16.items() if k in results['device']), None)
            if peak: r['share_of_bf16_peak'] = r['flops_per_volume']*r['vol_per_s']/peak
        results['variants'][name] = r
        print(f"{name:58s} {r['vol_per_s']:8.2f} vol/s" + (f"  val loss {r['validation']['loss']:.1f}, r {r['validation']['r']:.3f}, "
              f"r gen {r['validation'].get('r_gen', float('nan')):.3f}" if 'validation' in r else ''), flush=True)
    base = next(iter(results['variants'].values()))['vol_per_s']
    for r in results['variants'].values(): r['ratio_to_today'] = r['vol_per_s']/base
    print(f"\n{'variant':58s} {'vol/s':>8s} {'x today':>8s}")
    for k, r in results['variants'].items(): print(f"{k:58s} {r['vol_per_s']:8.2f} {r['ratio_to_today']:8.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True); Path(args.out).write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}")


if __name__ == '__main__':
    main()
