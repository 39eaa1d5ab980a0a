"""`sematlas/` must be exactly what `nbdev_export` writes from `nbs/`: the notebooks are the source."""
import filecmp, os, shutil, subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules(pkg: Path) -> set:
    return {str(p.relative_to(pkg)) for p in pkg.rglob('*.py') if '__pycache__' not in p.parts}


def test_package_matches_notebooks(tmp_path):
    shutil.copy(ROOT/'settings.ini', tmp_path)
    shutil.copytree(ROOT/'nbs', tmp_path/'nbs', ignore=shutil.ignore_patterns('.ipynb_checkpoints', '_quarto.yml'))
    (tmp_path/'sematlas').mkdir()
    env = {k: v for k, v in os.environ.items() if k != 'IN_TEST'}      # a notebook run in this worker sets IN_TEST, which makes nbdev_export a no-op
    subprocess.run(['nbdev_export'], cwd=tmp_path, check=True, capture_output=True, text=True, env=env)
    fresh, committed = _modules(tmp_path/'sematlas'), _modules(ROOT/'sematlas')
    assert fresh == committed, f"modules differ: only exported {sorted(fresh - committed)}, only committed {sorted(committed - fresh)}"
    differ = [n for n in sorted(fresh) if not filecmp.cmp(tmp_path/'sematlas'/n, ROOT/'sematlas'/n, shallow=False)]
    assert not differ, f"sematlas/{differ} out of sync with nbs/: run nbdev_export and commit the result"
