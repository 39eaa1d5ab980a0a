"""How long `sematlas evaluate` takes on the full test split, beside reading that split from the cache.

    python benchmarks/evaluate_speed.py --scale full --res 2

Builds a stand-in run folder (the default VAE architecture of configs/vae-subset-4mm.yaml at `--res`,
untrained: evaluating it costs what evaluating a trained one costs) on the prepared data of `--scale`,
then times `evaluate` end to end with every method, and, as the peer measured in the same run, the time
to read the test split's maps (both kernels) from the volume cache, which any evaluation must do.
Prints each method's seconds and writes benchmarks/results/evaluate_speed.json (git-ignored).
"""
from __future__ import annotations
import argparse, json, tempfile, time
from pathlib import Path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--scale', default='full', choices=['mock', 'subset', 'full'])
    ap.add_argument('--res', type=int, default=2, choices=[2, 4, 8])
    ap.add_argument('--data-dir', default=None)
    ap.add_argument('--config', default=str(Path(__file__).resolve().parents[1]/'configs'/'vae-subset-4mm.yaml'))
    args = ap.parse_args()

    import numpy as np
    from sematlas.training.checkpoint import export_model
    from sematlas.evaluation.evaluate import evaluate
    from sematlas.data.manifest import write_json
    from sematlas.training.config import TrainConfig

    cfg = TrainConfig.load(args.config, {'name': 'evaluate-benchmark', 'data.scale': args.scale, 'data.res': args.res, 'data.data_dir': args.data_dir,
                                         'loop.num_workers': 0})
    dm = cfg.kind.datamodule(cfg)
    dm.prepare_data(); dm.setup()
    with tempfile.TemporaryDirectory() as d:
        run = Path(d)/cfg.name
        run.mkdir()
        cfg.with_overrides({'loop.runs_dir': d}).save(run/'config.yaml')
        write_json({'manifest_hash': dm.manifest_hash}, run/'run.json')
        module = cfg.kind.build(cfg, dm)
        module.model.set_base_rate(dm.mean_map)
        export_model(module, run/'model.pt')

        cache, ids = dm.datasets['test'].cache, dm.splits['test']
        t = time.perf_counter()
        for k in cache.kernels: np.stack([cache.maps(i, k) for i in ids])
        read_s = time.perf_counter() - t

        t = time.perf_counter()
        result = evaluate(run, progress=True)
        total = time.perf_counter() - t
    out = {'scale': args.scale, 'res': args.res, 'test_studies': len(ids), 'evaluate_s': total, 'read_test_split_s': read_s,
           'evaluate_over_read': total/read_s, 'methods_s': {k: v.get('seconds') for k, v in result['methods'].items()}}
    print(f"\n{len(ids)} test studies at {args.res} mm: evaluate {total:.0f} s; reading the split alone {read_s:.1f} s "
          f"({total/read_s:.0f}x)")
    for k, v in out['methods_s'].items():
        if v is not None: print(f"  {k:<16} {v:7.1f} s")
    p = Path(__file__).resolve().parent/'results'/'evaluate_speed.json'
    p.parent.mkdir(exist_ok=True); p.write_text(json.dumps(out, indent=1))


if __name__ == '__main__':
    main()
