"""How fast a generated map comes back: today's commands against this checkout's, in one run.

    python benchmarks/cli_latency.py --data-dir ../shared/neurosynth

Runs the same commands with the code of `--baseline` (default: commit 41bda12, `main` before this version's inference
path, checked out into a temporary git worktree) and with this checkout, alternating between them, `--repeats` times
each, on the same model files (default: the released full-scale models, which the commands use by default):

- cold CLI: `python -m sematlas.cli generate "reward anticipation in adolescents" --year 2015 -o ...`, a new process
  each time (wall time), and `sematlas sample` of the baseline VAE;
- warm generation in Python: `CounterfactualMachine.generate` (32 draws) for a query not asked before, in a process
  that has loaded the model and generated once;
- a dashboard change: `dashboard_frame` (16 draws, the reference the same query in 2000) for a new query and for a
  new year of the last query; and the app's `update` (the frame and its two views drawn), by setting its controls.

Prints the medians (seconds) as a Markdown table with the load average, checks that both versions wrote the same
maps to the last bit, and writes everything to `benchmarks/results/cli_latency.json`.
"""
from __future__ import annotations
import argparse, itertools, json, os, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUERY, YEAR = 'reward anticipation in adolescents', '2015'
QUERIES = ['working memory', 'faces', 'pain', 'reward', 'finger tapping motor', 'reading words', 'emotion amygdala', 'attention',
           'fear conditioning', 'decision making risk', 'visual motion', 'social empathy', 'semantic categories', 'auditory speech',
           'response inhibition', 'depression', 'autism', 'placebo', 'numerical', 'mental imagery', 'episodic retrieval', 'food taste']


def worker(out: Path, model: Path, repeats: int):
    "In a process of one version: warm generation and dashboard changes, timed; the maps it made, saved for the comparison."
    import numpy as np
    from sematlas.apps.counterfactual import CounterfactualMachine
    from sematlas.apps.dashboard import CounterfactualDashboard, dashboard_frame
    t = time.perf_counter()
    cm = CounterfactualMachine.load(model)
    load_s = time.perf_counter() - t
    cm.generate(cm.conditions('memory'), 32, 0); dashboard_frame(cm, {'query': 'memory', 'year': 2010}, {'year': 2000})   # first calls
    qs = itertools.cycle(QUERIES)
    def timed(f):
        t = time.perf_counter(); f(); return time.perf_counter() - t
    res = {'load_s': load_s, 'warm_generate_s': [], 'dashboard_query_s': [], 'dashboard_year_s': [], 'app_query_s': [], 'app_year_s': []}
    for i in range(repeats):
        q = next(qs)
        res['warm_generate_s'].append(timed(lambda: cm.generate(cm.conditions(q, year=2010), 32, 0)))
    for i in range(repeats):
        q = next(qs)
        res['dashboard_query_s'].append(timed(lambda: dashboard_frame(cm, {'query': q, 'year': 2005}, {'year': 2000})))
        res['dashboard_year_s'].append(timed(lambda: dashboard_frame(cm, {'query': q, 'year': 2006}, {'year': 2000})))
    app = CounterfactualDashboard(cm, query='language')
    for i in range(repeats):
        q = next(qs)
        def change_query(): app.query.value = q
        def change_year(): app.year.value = 2001 + i
        res['app_query_s'].append(timed(change_query)); res['app_year_s'].append(timed(change_year))
    g = cm.generate(cm.conditions(QUERY, year=int(YEAR)), 32, 0)
    f = dashboard_frame(cm, {'query': 'working memory', 'year': 2010}, {'year': 2000})
    np.savez(out.with_suffix('.npz'), mean=np.asarray(g.mean.dataobj), sd=np.asarray(g.sd.dataobj), samples=np.asarray(g.samples.dataobj),
             difference=np.asarray(f.difference.dataobj))
    out.write_text(json.dumps(res))


def run(argv, side: Path, env: dict) -> float:
    "Wall time of one command run from `side` with its code."
    t = time.perf_counter()
    r = subprocess.run(argv, cwd=side, env={**env, 'PYTHONPATH': str(side)}, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if r.returncode: raise RuntimeError(f"{' '.join(map(str, argv))} failed in {side}:\n{r.stderr[-3000:]}")
    return dt


def same_images(a: Path, b: Path) -> bool:
    import nibabel as nib, numpy as np
    x, y = nib.load(a), nib.load(b)
    return np.array_equal(np.asarray(x.dataobj), np.asarray(y.dataobj)) and np.array_equal(x.affine, y.affine)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data-dir', type=Path, default=None, help='Neurosynth files (SEMATLAS_NEUROSYNTH_DIR); the topic keys of older model files come from there')
    p.add_argument('--baseline', default='41bda12', help="the commit whose commands are today's")
    p.add_argument('--baseline-dir', type=Path, default=None, help='a checkout of the baseline to use instead of a temporary worktree')
    p.add_argument('--model', type=Path, default=ROOT/'runs'/'release'/'cvae-full-4mm'/'model.pt', help='conditional model file, the same for both')
    p.add_argument('--vae', type=Path, default=ROOT/'runs'/'release'/'vae-full-4mm'/'model.pt', help='model file for `sematlas sample`')
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--worker', type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker: return worker(args.worker, args.model.resolve(), args.repeats)

    tmp = Path(tempfile.mkdtemp(prefix='cli-latency-'))
    base = args.baseline_dir
    if base is None:
        base = tmp/'baseline'
        subprocess.run(['git', '-C', str(ROOT), 'worktree', 'add', '--detach', str(base), args.baseline], check=True, capture_output=True)
    sides = {'today': base.resolve(), 'new': ROOT}
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'THP_MEM_ALLOC_ENABLE')}
    env['SEMATLAS_DATA_DIR'] = str(tmp/'data')                          # a fresh data folder: the new version builds its grid files once
    if args.data_dir: env['SEMATLAS_NEUROSYNTH_DIR'] = str(args.data_dir.resolve())
    model, vae = str(args.model.resolve()), str(args.vae.resolve())
    cli = lambda side, *a: [sys.executable, '-m', 'sematlas.cli', *a]
    gen = lambda side, out: cli(side, 'generate', QUERY, '--year', YEAR, '--model', model, '-o', str(out))
    sample = lambda side, out: cli(side, 'sample', vae, '-n', '8', '-o', str(out))
    times = {k: {s: [] for s in sides} for k in ('cold_generate_s', 'cold_sample_s')}
    load = [os.getloadavg()[0]]
    try:
        first = {s: run(gen(s, tmp/f'{s}-gen.nii.gz'), d, env) for s, d in sides.items()}          # untimed warm-up; the new one builds its grid files
        for s, d in sides.items(): run(sample(s, tmp/f'{s}-sample.nii.gz'), d, env)
        for r in range(args.repeats):
            for s in (list(sides) if r % 2 == 0 else list(sides)[::-1]):
                times['cold_generate_s'][s].append(run(gen(s, tmp/f'{s}-gen.nii.gz'), sides[s], env))
                times['cold_sample_s'][s].append(run(sample(s, tmp/f'{s}-sample.nii.gz'), sides[s], env))
            load.append(os.getloadavg()[0])
        for s, d in sides.items():
            run([sys.executable, str(Path(__file__).resolve()), '--worker', str(tmp/f'{s}.json'), '--model', model, '--repeats', str(args.repeats)], d, env)
            for k, v in json.loads((tmp/f'{s}.json').read_text()).items(): times.setdefault(k, {})[s] = v
        load.append(os.getloadavg()[0])
        import numpy as np
        a, b = np.load(tmp/'today.npz'), np.load(tmp/'new.npz')
        same = {'cli generate': same_images(tmp/'today-gen.nii.gz', tmp/'new-gen.nii.gz'),
                'cli sample': same_images(tmp/'today-sample.nii.gz', tmp/'new-sample.nii.gz'),
                **{f'python {k}': bool(np.array_equal(a[k], b[k])) for k in a.files}}
    finally:
        if args.baseline_dir is None: subprocess.run(['git', '-C', str(ROOT), 'worktree', 'remove', '--force', str(base)], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    rows = [('cold CLI `generate` (new process)', 'cold_generate_s'), ('cold CLI `sample` (VAE, 8 maps)', 'cold_sample_s'),
            ('warm `generate`, new query (32 draws)', 'warm_generate_s'), ('dashboard frame, new query', 'dashboard_query_s'),
            ('dashboard frame, new year', 'dashboard_year_s'), ('dashboard app update, new query (frame + 2 views)', 'app_query_s'),
            ('dashboard app update, new year (frame + 2 views)', 'app_year_s')]
    med = lambda v: statistics.median(v) if isinstance(v, list) else v
    print(f"\nmedians of {args.repeats} runs, seconds; load average {min(load):.1f}-{max(load):.1f} on {os.cpu_count()} cores; "
          f"baseline {args.baseline}, model {args.model.name} ({args.model.parent.name})\n")
    print('| measurement | today | new | speed-up |\n|---|---:|---:|---:|')
    for name, k in rows:
        t, n = med(times[k]['today']), med(times[k]['new'])
        print(f'| {name} | {t:.2f} | {n:.2f} | {t/n:.1f}x |')
    print(f"| first `generate` ever (builds the grid files) | {first['today']:.2f} | {first['new']:.2f} | |")
    print(f"| model load in Python | {med(times['load_s']['today']):.2f} | {med(times['load_s']['new']):.2f} | |")
    print('\nsame maps to the last bit: ' + ', '.join(f'{k} {"yes" if v else "NO"}' for k, v in same.items()))
    out = ROOT/'benchmarks'/'results'/'cli_latency.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({'times': times, 'first_generate_s': first, 'identical': same, 'load_average': load,
                               'baseline': args.baseline, 'model': str(args.model), 'repeats': args.repeats}, indent=1))
    print(f'wrote {out}')
    if not all(same.values()): sys.exit(1)


if __name__ == '__main__':
    main()
