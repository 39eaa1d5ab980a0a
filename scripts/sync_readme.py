"""README.md and nbs/index.ipynb hold the same text: the docs site's home page is the notebook, and GitHub shows the file.

    python scripts/sync_readme.py            # README.md from the notebook's markdown cells (as nbdev_readme does, without Quarto)
    python scripts/sync_readme.py --check    # exit 1 when they differ (tests/test_docs.py checks this)
    python scripts/sync_readme.py --split    # the notebook from README.md, one cell per `## ` section
"""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README, INDEX = ROOT/'README.md', ROOT/'nbs'/'index.ipynb'


def readme_from_index() -> str:
    "The text of the notebook's markdown cells, in order."
    nb = json.loads(INDEX.read_text())
    return '\n\n'.join(''.join(c['source']).strip('\n') for c in nb['cells'] if c['cell_type'] == 'markdown') + '\n'


def index_from_readme() -> dict:
    "A notebook with one markdown cell per `## ` section of README.md."
    parts = re.split(r'\n(?=## )', README.read_text().strip('\n'))
    cells = [{'cell_type': 'markdown', 'id': f'readme{i:02d}', 'metadata': {}, 'source': p.strip('\n').splitlines(keepends=True)}
             for i, p in enumerate(parts)]
    return {'cells': cells, 'metadata': {'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}},
            'nbformat': 4, 'nbformat_minor': 5}


if __name__ == '__main__':
    if '--split' in sys.argv:
        INDEX.write_text(json.dumps(index_from_readme(), indent=1, ensure_ascii=False) + '\n')
    elif '--check' in sys.argv:
        if README.read_text() != readme_from_index():
            sys.exit('README.md differs from nbs/index.ipynb: edit the notebook, then run python scripts/sync_readme.py')
    else:
        README.write_text(readme_from_index())
