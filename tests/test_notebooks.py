"""Every notebook in nbs/ runs as a test; cells flagged with a `tst_flags` flag (gpu, full) are skipped."""
from pathlib import Path
import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as run_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))


@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook(nb: Path):
    flags = get_config(path=ROOT).tst_flags.split()
    ok, _ = run_notebook(nb, skip_flags=flags, do_print=False, showerr=True)
    assert ok, f"{nb.name} failed: the traceback is in the captured stderr above"


def test_every_notebook_is_numbered():
    names = [p.stem for p in NOTEBOOKS if p.stem != 'index']
    assert names and all(n[:2].isdigit() and n[2] == '_' for n in names), names
