"""Test setup: point the notebooks at the shared Neurosynth copy and keep derived data out of the project."""
import atexit, os, shutil, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_shared = ROOT.parent/'shared'/'neurosynth'
if 'SEMATLAS_NEUROSYNTH_DIR' not in os.environ and _shared.exists():
    os.environ['SEMATLAS_NEUROSYNTH_DIR'] = str(_shared)

# Derived data written while testing goes to a throwaway folder, never into the project's data/.
if 'SEMATLAS_DATA_DIR' not in os.environ:
    _tmp = tempfile.mkdtemp(prefix='sematlas-test-')
    atexit.register(shutil.rmtree, _tmp, ignore_errors=True)
    os.environ['SEMATLAS_DATA_DIR'] = _tmp
