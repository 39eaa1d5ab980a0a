"""The Node.js example (examples/node): installed from the npm registry by its own package.json, it generates a map
with an exported ONNX generator and writes NIfTI that nibabel reads with the grid's affine and onnxruntime's values."""
import json, shutil, subprocess, time
from pathlib import Path
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT/'examples'/'node'
OFFLINE = ('ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNREFUSED', 'ECONNRESET', 'network request', 'getaddrinfo')


@pytest.fixture(scope='module')
def node_example():
    "Install the example's dependencies (`npm ci --prefix examples/node`), or skip saying why it cannot run here."
    missing = [t for t in ('node', 'npm') if shutil.which(t) is None]
    if missing: pytest.skip(f"the Node.js example needs {' and '.join(missing)} on PATH (Node.js >= 18 with npm)")
    t0 = time.time()
    r = subprocess.run(['npm', 'ci', '--prefix', str(EXAMPLE), '--no-audit', '--no-fund'], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        why = [line for line in (r.stdout + r.stderr).splitlines() if any(s in line for s in OFFLINE)]
        if why: pytest.skip(f"the npm registry cannot be reached, so the example's packages cannot be installed ({why[0].strip()[:200]})")
        pytest.fail(f"npm ci failed:\n{r.stderr[-3000:]}")
    print(f"npm ci --prefix examples/node: {time.time() - t0:.1f} s")
    return EXAMPLE


@pytest.fixture(scope='module')
def onnx_models(tmp_path_factory):
    "Mock model files (a conditional and a plain VAE, 8 mm, random weights) exported to ONNX."
    from sematlas.release.onnx import export_onnx, random_model_file
    tmp = tmp_path_factory.mktemp('onnx')
    out = {}
    for kind in ('cvae', 'vae'):
        export_onnx(random_model_file(kind, tmp/'models'/kind/'model.pt'), tmp/'onnx', kind)
        out[kind] = tmp/'onnx'/kind/'generator.onnx'
    return out


def generate(model: Path, out: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run(['node', str(EXAMPLE/'generate.js'), str(model), str(out), *args], capture_output=True, text=True, timeout=120)


def test_conditional_map(node_example, onnx_models, tmp_path):
    "A topic and a year: the NIfTI file has the grid's shape and affine (sform/qform MNI152) and onnxruntime-python's values."
    import nibabel as nib
    from sematlas.data.grid import MNIGrid
    from sematlas.release.onnx import OnnxGraph
    from sematlas.training.checkpoint import load_network
    out = tmp_path/'map.nii.gz'
    r = generate(onnx_models['cvae'], out, '--topic', 'topic_2', '--year', '2015', '--check')
    assert r.returncode == 0, r.stderr
    assert 'read back by nifti-reader-js' in r.stdout
    img = nib.load(out)
    grid = MNIGrid.at(8)
    assert img.shape == grid.shape and img.get_data_dtype() == np.float32
    np.testing.assert_allclose(img.affine, grid.affine, atol=1e-5)
    assert img.header.get_sform(coded=True)[1] == 4 and img.header.get_qform(coded=True)[1] == 4
    np.testing.assert_allclose(img.header.get_qform(), grid.affine, atol=1e-5)
    # the same conditions, encoded by the package, through onnxruntime in Python
    net, _ = load_network(onnx_models['cvae'].parents[2]/'models'/'cvae'/'model.pt')
    v, m = net.condition_encoder.query(topics={'topic_2': 1.0}, year=2015)
    want = OnnxGraph(onnx_models['cvae']).run(conditions=v[None], mask=m[None], z=np.zeros((1, net.latent_dim)))['map'][0]
    np.testing.assert_allclose(img.get_fdata(), want, rtol=0, atol=1e-6*float(want.max()))
    assert want.max() > 0 and b'topic_2' in img.header['descrip'].tobytes()


def test_plain_vae_and_errors(node_example, onnx_models, tmp_path):
    "A non-conditional model at z = 0; bad arguments end with exit code 2 and a message naming the problem, and write nothing."
    import nibabel as nib
    from sematlas.release.onnx import OnnxGraph
    r = generate(onnx_models['vae'], tmp_path/'v.nii')
    assert r.returncode == 0, r.stderr
    want = OnnxGraph(onnx_models['vae']).run(z=np.zeros((1, 8)))['map'][0]
    np.testing.assert_allclose(nib.load(tmp_path/'v.nii').get_fdata(), want, rtol=0, atol=1e-6*float(want.max()))
    cases = [((onnx_models['cvae'], tmp_path/'a.nii', '--topic', 'nonsense'), 'no topic named "nonsense"'),
             ((onnx_models['cvae'], tmp_path/'b.nii', '--year', 'soon'), '--year must be a number'),
             ((onnx_models['cvae'], tmp_path/'c.png'), 'the output is a NIfTI file'),
             ((onnx_models['vae'], tmp_path/'d.nii', '--topic', 'topic_1'), 'is not conditional'),
             ((onnx_models['cvae'].with_name('encoder.onnx'), tmp_path/'e.nii'), 'not a sematlas map generator'),
             ((tmp_path/'none.onnx', tmp_path/'f.nii'), 'no such file')]
    bad = tmp_path/'bad.onnx'; bad.write_bytes(onnx_models['vae'].read_bytes()[:1000])
    cases.append(((bad, tmp_path/'g.nii'), 'bad.onnx'))
    for args, msg in cases:
        r = generate(*args)
        assert r.returncode == 2 and msg in r.stderr, (args, r.stderr)
    assert not any(p.suffix in ('.nii', '.png') for p in tmp_path.iterdir() if p.name != 'v.nii')
