"""Test setup: point the notebooks at the shared Neurosynth copy and keep derived data out of the project."""
import atexit, os, shutil, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Under pytest-xdist each worker gets its share of the cores. Left to themselves, every worker's OpenMP and BLAS
# pools take all the cores, and their spinning threads slow the whole suite several-fold (13 min against 5 sequentially).
if 'PYTEST_XDIST_WORKER_COUNT' in os.environ:
    _threads = str(max(1, (os.cpu_count() or 1)//int(os.environ['PYTEST_XDIST_WORKER_COUNT'])))
    for _var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'): os.environ.setdefault(_var, _threads)
_shared = ROOT.parent/'shared'/'neurosynth'
if 'SEMATLAS_NEUROSYNTH_DIR' not in os.environ and _shared.exists():
    os.environ['SEMATLAS_NEUROSYNTH_DIR'] = str(_shared)

# Derived data written while testing goes to a throwaway folder, never into the project's data/.
if 'SEMATLAS_DATA_DIR' not in os.environ:
    _tmp = tempfile.mkdtemp(prefix='sematlas-test-')
    atexit.register(shutil.rmtree, _tmp, ignore_errors=True)
    os.environ['SEMATLAS_DATA_DIR'] = _tmp
