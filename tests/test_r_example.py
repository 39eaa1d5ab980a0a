"""The examples outside Python run on a mock-scale release: examples/r reads the exported CSV tables with base R and draws a PNG."""
import shutil, struct, subprocess
from pathlib import Path
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module')
def mock_release(tmp_path_factory):
    "The release tables of a flat VAE trained for a moment on the mock data, with its clusters and yearly series (as `63_tables` makes them)."
    from sematlas.data.prepare import prepare
    from sematlas.evaluation.timeseries import encode_prepared, save_series, yearly_series
    from sematlas.release.tables import export_tables
    from sematlas.training.config import TrainConfig
    from sematlas.training.train import train
    tmp = tmp_path_factory.mktemp('release')
    mock = prepare('mock', 8, out_dir=tmp/'data'/'derived'/'mock', progress=False)
    run = train(TrainConfig.from_dict({'name': 'vae-mock', 'data': {'scale': 'mock', 'res': 8, 'derived_dir': str(mock.out_dir)},
                                       'model': {'kind': 'vae', 'latent_dim': 4, 'width': 8},
                                       'loop': {'epochs': 1, 'batch_size': 16, 'num_workers': 0, 'runs_dir': str(tmp/'runs'), 'logger': 'csv',
                                                'device': 'cpu'}}), progress=False)
    save_series(yearly_series(encode_prepared(run.model_path, mock.out_dir, progress=False), (2007, 2016), n_boot=20),
                run.path/'zeitgeist'/'yearly.parquet')
    return export_tables(tmp/'release', [run.path], tmp/'data', scale='mock', cache_dir=tmp/'codes', progress=False), mock


def _png_size(path: Path) -> tuple[int, int]:
    "Width and height from a PNG's header; an error if the file is not a PNG."
    head = path.read_bytes()[:24]
    assert head[:8] == b'\x89PNG\r\n\x1a\n' and head[12:16] == b'IHDR', f"{path} is not a PNG file"
    return struct.unpack('>II', head[16:24])


def test_r_example(mock_release, tmp_path):
    if shutil.which('Rscript') is None: pytest.skip("Rscript is not installed (apt-get install r-base-core): the R example is not checked")
    release, mock = mock_release
    png = tmp_path/'series.png'
    r = subprocess.run(['Rscript', str(ROOT/'examples'/'r'/'plot_timeseries.R'), str(release), str(png)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"studies: {len(mock.studies)} " in r.stdout and f"peaks: {len(mock.peaks)} " in r.stdout, r.stdout
    assert 'vae-mock' in r.stdout
    test_eq_size = _png_size(png)
    assert test_eq_size == (1100, 450)
    import matplotlib.image as mpimg
    img = mpimg.imread(png)
    assert img[..., :3].std() > 0.05, "the plot is blank"                      # bars, lines and text, not an empty canvas


def test_r_example_bad_input(mock_release, tmp_path):
    if shutil.which('Rscript') is None: pytest.skip("Rscript is not installed (apt-get install r-base-core): the R example is not checked")
    r = subprocess.run(['Rscript', str(ROOT/'examples'/'r'/'plot_timeseries.R'), str(tmp_path), str(tmp_path/'x.png')], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and 'studies.csv: no such table' in r.stderr
    r = subprocess.run(['Rscript', str(ROOT/'examples'/'r'/'plot_timeseries.R'), str(mock_release[0]), str(tmp_path/'x.png'), 'no-model'],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and 'has no yearly series' in r.stderr
