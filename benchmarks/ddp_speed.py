"""Training throughput on several processes (Lightning's DDP) against one, on the same data for the same number of examples.

    python benchmarks/ddp_speed.py --data-dir ../shared/neurosynth                           # CPU: 1 process (1 and 2 threads), 2 processes of 1 thread
    python benchmarks/ddp_speed.py --data-dir ../shared/neurosynth --device cuda --res 2 --scale full --variants 1x1 2x1 4x1 8x1

Each variant is a real run of `configs/cvae-full-4mm.yaml` (the fast body, resident data, bf16) through
`sematlas.training.train.train`, started as users start it (a new Python process, which Lightning's launcher starts
again for every other rank) with `loop.devices` = the variant's processes, `loop.batch_size` studies per process
and per step, and as many steps as make `--examples` examples in all; so one epoch of the training split is not
exceeded and no validation falls inside the timed steps. Rank 0's clock times the steps after the first
`--warmup` (data, forward, backward, the gradients' all-reduce, the optimiser); the run's throughput is the
examples of those steps on all ranks over that time. Variants are `PxT`: P processes of T CPU threads each; with
`--repeats`, the variants take turns that many times and each reports its median (on a shared machine, the load of
others moves every sample). Writes benchmarks/results/ddp_speed.json.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def clock(out: Path, warmup: int):
    "A callback: rank 0's wall time from the start of step `warmup` to the end of the last step, and the examples in between."
    from lightning.pytorch.callbacks import Callback
    import torch
    class Clock(Callback):
        def __init__(self): self.steps, self.examples, self.t0 = 0, 0, None
        def on_train_batch_start(self, trainer, module, batch, i):
            if self.steps == warmup:
                if module.device.type == 'cuda': torch.cuda.synchronize()
                self.t0 = time.perf_counter()
        def on_train_batch_end(self, trainer, module, outputs, batch, i):
            self.steps += 1
            if self.steps > warmup: self.examples += len(batch['volume'])*trainer.world_size
            if module.device.type == 'cuda': torch.cuda.synchronize()
            self.t1 = time.perf_counter()
        def on_train_end(self, trainer, module):
            if trainer.global_rank == 0:
                (out/'clock.json').write_text(json.dumps({'seconds': self.t1 - self.t0, 'examples': self.examples, 'steps': self.steps,
                                                          'processes': trainer.world_size, 'threads': torch.get_num_threads()}))
    return Clock()


def worker(config: str, out: str, warmup: int, sets: list):
    "One training process (rank 0, or a rank Lightning's launcher started with this same command)."
    from sematlas.cli import _overrides
    from sematlas.training.config import TrainConfig
    from sematlas.training.train import train
    train(TrainConfig.load(config, _overrides(sets)), progress=False, callbacks=[clock(Path(out), warmup)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data-dir', default=None)
    ap.add_argument('--derived-dir', default=None, help='prepared data (default data/derived/<scale>)')
    ap.add_argument('--config', default=str(ROOT/'configs'/'cvae-full-4mm.yaml'))
    ap.add_argument('--scale', default='subset', choices=['mock', 'subset', 'full'])
    ap.add_argument('--res', type=int, default=4)
    ap.add_argument('--batch-size', type=int, default=16, help='studies per process and step')
    ap.add_argument('--examples', type=int, default=640, help='training examples per variant, all processes together (within one epoch)')
    ap.add_argument('--warmup', type=int, default=3, help='steps not timed')
    ap.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    ap.add_argument('--variants', nargs='+', default=['1x1', '1x2', '2x1'], help='PxT: P processes of T threads (T ignored on a GPU)')
    ap.add_argument('--repeats', type=int, default=1, help='turns of all the variants; each reports its median')
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'ddp_speed.json'))
    ap.add_argument('--worker', nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker: return worker(args.worker[0], args.worker[1], int(args.worker[2]), args.worker[3:])
    import torch
    results = {'device': torch.cuda.get_device_name() if args.device.startswith('cuda') else f'cpu ({os.cpu_count()} cores)',
               'config': Path(args.config).name, 'scale': args.scale, 'res': args.res, 'batch_size_per_process': args.batch_size,
               'examples': args.examples, 'warmup_steps': args.warmup, 'repeats': args.repeats, 'variants': {}}
    tmp = Path(tempfile.mkdtemp(prefix='ddp-speed-'))
    samples = {v: [] for v in args.variants}
    for rep, v in ((rep, v) for rep in range(args.repeats) for v in args.variants):
        p, t = map(int, v.split('x'))
        out = tmp/f'{v}-{rep}'; out.mkdir()
        sets = {'name': f'ddp-speed-{v}-{rep}', 'data.scale': args.scale, 'data.res': args.res, 'data.data_dir': args.data_dir,
                'data.derived_dir': args.derived_dir, 'loop.runs_dir': str(tmp/'runs'), 'loop.logger': 'csv', 'loop.max_minutes': None,
                'loop.device': 'gpu' if args.device.startswith('cuda') else 'cpu', 'loop.devices': p, 'loop.threads': t,
                'loop.strategy': 'ddp' if p > 1 else 'auto', 'loop.batch_size': args.batch_size, 'loop.epochs': 1000, 'loop.figure_every': 1000,
                'loop.lr_schedule': 'constant', 'loop.warmup_steps': 0, 'loop.max_steps': args.examples//(p*args.batch_size)}
        cmd = [sys.executable, __file__, '--worker', args.config, str(out), str(args.warmup),
               *[f'{k}={"null" if x is None else x}' for k, x in sets.items()]]
        t0 = time.time()
        done = subprocess.run(cmd, cwd=ROOT, env={**os.environ, 'OMP_NUM_THREADS': str(t), 'PYTHONUNBUFFERED': '1'},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode: sys.exit(f"variant {v} failed:\n{done.stdout[-5000:]}")
        c = json.loads((out/'clock.json').read_text())
        samples[v].append({**c, 'vol_per_s': c['examples']/c['seconds'], 'command_wall_s': time.time() - t0})
        print(f"{v:>5s}: {p} process(es) x {t} thread(s): {samples[v][-1]['vol_per_s']:7.2f} vol/s ({c['examples']} examples in {c['seconds']:.1f} s)", flush=True)
    for v, ss in samples.items():
        results['variants'][v] = {'vol_per_s': statistics.median(s['vol_per_s'] for s in ss), 'samples': ss}
    base = next(iter(results['variants'].values()))['vol_per_s']
    for r in results['variants'].values(): r['ratio_to_first'] = r['vol_per_s']/base
    print(f"\n{'variant':>8s} {'vol/s':>8s} {'x ' + args.variants[0]:>8s}")
    for k, r in results['variants'].items(): print(f"{k:>8s} {r['vol_per_s']:8.2f} {r['ratio_to_first']:8.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True); Path(args.out).write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}")


if __name__ == '__main__':
    main()
