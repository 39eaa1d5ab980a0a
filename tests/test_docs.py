"""The docs build short of rendering (Quarto cannot be installed here): the site config, its workflow, and nbdev's
processing of every notebook, which is what `nbdev_docs` runs before Quarto renders `_proc/`."""
import os, subprocess, sys
from pathlib import Path
import yaml
from nbdev.config import get_config

ROOT = Path(__file__).resolve().parents[1]


def test_quarto_config():
    cfg = get_config(path=ROOT)
    site = yaml.safe_load((ROOT/'_quarto.yml').read_text())
    assert (ROOT/'nbs'/'_quarto.yml').resolve() == (ROOT/'_quarto.yml').resolve(), "nbs/_quarto.yml must link to ../_quarto.yml"
    assert site['project']['type'] == 'website' and {'nbdev.yml', 'sidebar.yml'} <= set(site['metadata-files'])
    assert all((ROOT/'nbs'/f).exists() for f in site['format']['html'].get('css', '').split() if f)
    nbdev_yml = yaml.safe_load((ROOT/'nbs'/'nbdev.yml').read_text())
    assert nbdev_yml['project']['output-dir'] == cfg.doc_path.name
    assert nbdev_yml['website']['site-url'] == cfg.doc_host + cfg.doc_baseurl
    deploy = yaml.safe_load((ROOT/'.github'/'workflows'/'deploy.yaml').read_text())
    steps = deploy['jobs']['deploy']['steps']
    assert any(s.get('run') == 'nbdev_docs' for s in steps)
    assert any(s.get('with', {}).get('publish_dir') == f'./{cfg.doc_path.name}' for s in steps)
    assert any('quarto-dev/quarto-actions/setup' in s.get('uses', '') for s in steps)


PROCESS = """
import warnings, sys
from nbdev.quarto import nbdev_sidebar
from nbdev.serve import proc_nbs
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter('always')
    nbdev_sidebar.__wrapped__()
    proc_nbs(n_workers=0, force=True)
mixed = [str(w.message) for w in seen if 'Found cells containing imports' in str(w.message)]
if mixed: sys.exit('cells that the docs build would run whole (imports mixed with test code):\\n' + '\\n'.join(mixed))
"""

def test_notebooks_process_for_docs():
    "Every notebook goes through nbdev's docs processors (exported code, imports and show_doc run; nothing else)."
    r = subprocess.run([sys.executable, '-c', PROCESS], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, (r.stdout + r.stderr)[-6000:]
    processed = {p.name for p in (ROOT/'_proc').glob('*.ipynb')}
    assert processed >= {p.name for p in (ROOT/'nbs').glob('*.ipynb')}, 'notebooks missing from _proc/'


def test_environment_mirrors_settings():
    "environment.yml (for conda users) lists every requirement of settings.ini with the same version bounds."
    import re
    cfg = get_config(path=ROOT)
    wanted = {re.split(r'[<>=!~ ]', r, 1)[0].lower(): r.replace(' ', '') for r in (cfg.requirements + ' ' + cfg.dev_requirements).split()}
    env = yaml.safe_load((ROOT/'environment.yml').read_text())['dependencies']
    listed = [d for d in env if isinstance(d, str)] + [d for d in env if isinstance(d, dict) for d in d['pip']]
    have = {re.split(r'[<>=!~ ]', d, 1)[0].lower(): d.replace(' ', '') for d in listed if not d.startswith(('-e', 'python', 'pip'))}
    assert set(wanted) <= set(have), f"missing from environment.yml: {sorted(set(wanted) - set(have))}"
    assert all(have[k] == v for k, v in wanted.items()), {k: (have[k], v) for k, v in wanted.items() if have[k] != v}


def test_readme_is_the_index_notebook():
    "README.md is nbs/index.ipynb's text (the docs' home page), kept in step by scripts/sync_readme.py."
    r = subprocess.run([sys.executable, str(ROOT/'scripts'/'sync_readme.py'), '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
