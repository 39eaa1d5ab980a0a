"""Cache build and loader throughput, each against a peer measured in the same run.

    python benchmarks/cache_build.py --studies 1000 --res 2

1. Build: studies/s of `build_volume_cache` (both kernels rendered, compressed and written to LMDB)
   against NiMARE's `ALEKernel(fwhm=6)` and `ALEKernel(fwhm=12)` `.transform` on the same cleaned
   studies, grid and brain mask (in memory, nothing written). Ours is timed with one process and with
   all cores (the default of `sematlas prepare`).
2. Load: volumes/s read from the cache (decompress + unmask), directly and through a torch DataLoader
   with 1 and several workers, against rendering the same maps from peaks on the fly.

Results print as a table and are written to benchmarks/results/cache_build.json (git-ignored).
"""
from __future__ import annotations
import argparse, json, os, shutil, tempfile, time
from pathlib import Path
import pandas as pd


def rate(n: int, seconds: float) -> float: return n / seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--studies', type=int, default=1000, help='real studies to use (a year-stratified draw)')
    ap.add_argument('--res', type=int, default=2, choices=[2, 4, 8])
    ap.add_argument('--data-dir', default=None, help='Neurosynth folder (default $SEMATLAS_NEUROSYNTH_DIR or data/neurosynth)')
    ap.add_argument('--workers', type=int, nargs='+', default=[0, 1, 2, 4], help='DataLoader worker counts to measure (0: in the main process)')
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()

    from nilearn.maskers import NiftiMasker
    from nimare.meta.kernel import ALEKernel
    from torch.utils.data import DataLoader
    from sematlas.data.cache import VolumeCache, build_volume_cache
    from sematlas.data.download import draw_subset, load_neurosynth
    from sematlas.data.grid import MNIGrid
    from sematlas.data.kernels import KERNELS_FWHM, render_peaks
    from sematlas.data.loader import CacheDataset
    from sematlas.data.prepare import clean_tables

    ns = load_neurosynth(args.data_dir)
    ns = ns.select(draw_subset(ns.studies, args.studies, args.seed))
    t = clean_tables(ns)
    studies, peaks = t['studies'], t['peaks']
    grid = MNIGrid.at(args.res)
    n = len(studies)
    print(f"{n} studies, {len(peaks)} peaks, {grid}, cores: {os.cpu_count()}")
    results = {'studies': n, 'peaks': len(peaks), 'res': args.res, 'cores': os.cpu_count()}

    # NiMARE, both kernels, same studies, grid and mask
    masker = NiftiMasker(grid.mask_img()).fit()
    coords = peaks[['id', 'x', 'y', 'z']].assign(space='MNI')
    for fwhm in KERNELS_FWHM:
        ALEKernel(fwhm=fwhm).transform(coords[coords['id'].isin(studies['id'][:5])], masker=masker, return_type='array')  # warm up
        t0 = time.perf_counter()
        ALEKernel(fwhm=fwhm).transform(coords, masker=masker, return_type='array')
        results[f'nimare_ale{fwhm}_s'] = time.perf_counter() - t0
    nimare_both = sum(results[f'nimare_ale{f}_s'] for f in KERNELS_FWHM)

    # ours: render-only per kernel (one process), then the full cache build (1 process, all cores)
    xyz = {sid: g[['x', 'y', 'z']].to_numpy() for sid, g in peaks.groupby('id')}
    render_peaks(xyz[studies['id'][0]], grid, 6)                                           # numba warm up
    for fwhm in KERNELS_FWHM:
        t0 = time.perf_counter()
        for sid in studies['id']: render_peaks(xyz[sid], grid, fwhm)
        results[f'ours_render{fwhm}_s'] = time.perf_counter() - t0
    tmp = Path(tempfile.mkdtemp(prefix='sematlas-bench-'))
    try:
        for jobs in (1, os.cpu_count()):
            path = tmp/f'cache_{jobs}.lmdb'
            t0 = time.perf_counter()
            build_volume_cache(studies, peaks, path, res=args.res, n_jobs=jobs, progress=False)
            results[f'ours_build_jobs{jobs}_s'] = time.perf_counter() - t0
        cache = VolumeCache(path)
        results['cache_bytes_per_study'] = cache.size_bytes() / n

        # loading
        ids = cache.ids
        t0 = time.perf_counter()
        for sid in ids: cache.volume(sid, 12)
        results['read_direct_s'] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for sid in ids: grid.unmask(render_peaks(xyz[sid], grid, 12))
        results['render_on_the_fly_s'] = time.perf_counter() - t0
        ds = CacheDataset(cache, kernel=12)
        for w in args.workers:
            dl = DataLoader(ds, batch_size=8, num_workers=w, persistent_workers=False)
            t0 = time.perf_counter()
            for _ in dl: pass
            results[f'read_loader_w{w}_s'] = time.perf_counter() - t0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rows = [('NiMARE ALEKernel(fwhm=6).transform', rate(n, results['nimare_ale6_s']), 1.0, ''),
            ('NiMARE ALEKernel(fwhm=12).transform', rate(n, results['nimare_ale12_s']), 1.0, ''),
            ('NiMARE both kernels', rate(n, nimare_both), 1.0, ''),
            ('sematlas render 6 mm (1 process)', rate(n, results['ours_render6_s']), results['nimare_ale6_s']/results['ours_render6_s'], 'vs NiMARE fwhm=6'),
            ('sematlas render 12 mm (1 process)', rate(n, results['ours_render12_s']), results['nimare_ale12_s']/results['ours_render12_s'], 'vs NiMARE fwhm=12'),
            ('sematlas cache build, both kernels, 1 process', rate(n, results['ours_build_jobs1_s']), nimare_both/results['ours_build_jobs1_s'], 'vs NiMARE both'),
            (f'sematlas cache build, both kernels, {os.cpu_count()} processes', rate(n, results[f'ours_build_jobs{os.cpu_count()}_s']),
             nimare_both/results[f'ours_build_jobs{os.cpu_count()}_s'], 'vs NiMARE both'),
            ('render 12 mm volume on the fly', rate(n, results['render_on_the_fly_s']), 1.0, ''),
            ('cache read 12 mm volume, direct', rate(n, results['read_direct_s']), results['render_on_the_fly_s']/results['read_direct_s'], 'vs on the fly')]
    rows += [(f'cache read via DataLoader, {w} worker(s)', rate(n, results[f'read_loader_w{w}_s']),
              results['render_on_the_fly_s']/results[f'read_loader_w{w}_s'], 'vs on the fly') for w in args.workers]
    table = pd.DataFrame(rows, columns=['what', 'studies_or_volumes_per_s', 'ratio', 'peer'])
    with pd.option_context('display.width', 200, 'display.max_colwidth', 60):
        print(table.round(2).to_string(index=False))
    print(f"cache size: {results['cache_bytes_per_study']/1e3:.0f} kB/study at {args.res} mm (both kernels)")
    out = Path(__file__).parent/'results'; out.mkdir(exist_ok=True)
    (out/'cache_build.json').write_text(json.dumps({**results, 'table': table.to_dict('records')}, indent=1))


if __name__ == '__main__':
    main()
