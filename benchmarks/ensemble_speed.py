"""Decoding time of a snapshot ensemble against one of its members, measured in the same run.

    python benchmarks/ensemble_speed.py runs/release/cvae-ensemble-full-4mm            # CPU
    python benchmarks/ensemble_speed.py RUN_DIR --device cuda --out bench.json          # GPU (scripts/gpu_uncertainty.sh runs this)

For one condition setting (a topic and a year, read as `sematlas generate` reads them), the wall time of
`EnsembleInference.predict_arrays` (decode at z = 0, the members' moments, the sds) with all the members against the
same call with the first member alone: the median of `--repeats` calls after 3 warm-up calls, each on the device and
synchronised. The ratio is what the epistemic sd costs over a single model's map with its aleatoric sd. Also the time
to load the ensemble file. Results print as JSON and go to `--out` (default benchmarks/results/ensemble_speed.json,
git-ignored).
"""
from __future__ import annotations
import argparse, json, platform, statistics, time
from pathlib import Path


def timed(fn, device: str, repeats: int) -> list[float]:
    import torch
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    for _ in range(3): fn()
    out = []
    for _ in range(repeats):
        sync(); t = time.perf_counter(); fn(); sync(); out.append(time.perf_counter() - t)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('run', type=Path, help='a run or release folder holding ensemble.pt, or the file itself')
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--repeats', type=int, default=30)
    ap.add_argument('--threads', type=int, default=None, help='CPU threads (default: torch\'s choice)')
    ap.add_argument('--out', type=Path, default=Path('benchmarks/results/ensemble_speed.json'))
    a = ap.parse_args()
    import torch
    from sematlas.apps.ensemble import EnsembleInference
    if a.threads: torch.set_num_threads(a.threads)
    path = a.run/'ensemble.pt' if a.run.is_dir() else a.run
    t0 = time.perf_counter(); ens = EnsembleInference.load(path, a.device); load_s = time.perf_counter() - t0
    c = ens.conditions(topics=[0] if ens.machine.vocabulary is not None else None, year=2010)
    one = timed(lambda: ens.predict_arrays(c, members=1), a.device, a.repeats)
    all_ = timed(lambda: ens.predict_arrays(c), a.device, a.repeats)
    res = {'ensemble': str(path), 'members': len(ens.nets), 'device': torch.cuda.get_device_name() if a.device.startswith('cuda') else platform.processor() or 'cpu',
           'torch_threads': torch.get_num_threads(), 'grid_mm': ens.grid.res, 'load_s': load_s, 'repeats': a.repeats,
           'one_member_ms_median': 1e3*statistics.median(one), 'ensemble_ms_median': 1e3*statistics.median(all_),
           'ratio': statistics.median(all_)/statistics.median(one)}
    a.out.parent.mkdir(parents=True, exist_ok=True); a.out.write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))


if __name__ == '__main__':
    main()
