"""`sematlas/` must be exactly what `nbdev_export` writes from `nbs/`: the notebooks are the source."""
import filecmp, shutil, subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_package_matches_notebooks(tmp_path):
    shutil.copy(ROOT/'settings.ini', tmp_path)
    shutil.copytree(ROOT/'nbs', tmp_path/'nbs', ignore=shutil.ignore_patterns('.ipynb_checkpoints', '_quarto.yml'))
    (tmp_path/'sematlas').mkdir()
    subprocess.run(['nbdev_export'], cwd=tmp_path, check=True, capture_output=True, text=True)
    fresh = {p.name for p in (tmp_path/'sematlas').glob('*.py')}
    committed = {p.name for p in (ROOT/'sematlas').glob('*.py')}
    assert fresh == committed, f"modules differ: only exported {sorted(fresh - committed)}, only committed {sorted(committed - fresh)}"
    differ = [n for n in sorted(fresh) if not filecmp.cmp(tmp_path/'sematlas'/n, ROOT/'sematlas'/n, shallow=False)]
    assert not differ, f"sematlas/{differ} out of sync with nbs/: run nbdev_export and commit the result"
