"""Every kind of map the package writes is MNI152 NIfTI-1: sform and qform code 4, a description, float32 data, and an affine on the
MNI152 template's lattice (S4.3.4). Each kind is made by the package's own writer from the released models (mock data for the
study maps at 8 mm), written to disk, read back with nibabel and nilearn, and resampled onto the template."""
import os, subprocess, sys, warnings
from pathlib import Path
import numpy as np
import nibabel as nib
import pytest

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT/'runs'/'release'
os.environ.setdefault('OMP_NUM_THREADS', '1')


def needs(*names):
    missing = [n for n in names if not (RELEASE/n).exists()]
    return pytest.mark.skipif(bool(missing), reason=f"released model files missing: {missing}")


@pytest.fixture(scope='module')
def template():
    "nilearn's MNI152 template at 1 mm (its native lattice: voxel centres on whole millimetres) and 2 mm, and its 2 mm brain mask."
    from nilearn import datasets
    return {'t1': datasets.load_mni152_template(resolution=1), 't2': datasets.load_mni152_template(resolution=2),
            'mask2': datasets.load_mni152_brain_mask(resolution=2)}


def check(img, path: Path, template, res: int, mass_in_brain: float = 0.9):
    """Write `img` to `path`, read it back and check the header; returns the image as read.

    The affine must be the template's axes scaled to `res` mm, with voxel centres on the 1 mm template's voxel centres (so a 4 mm voxel
    is the centre of a 2x2x2 block of 2 mm template voxels); the map's positive mass resampled onto the template must mostly lie in
    its brain mask (a wrong origin or a flipped axis moves it out)."""
    from nilearn import image, maskers
    img.to_filename(str(path))
    back = nib.load(str(path))
    h = back.header
    assert isinstance(back, nib.Nifti1Image) and h['sizeof_hdr'] == 348, f"{path.name}: not NIfTI-1"
    assert int(h['sform_code']) == 4 and int(h['qform_code']) == 4, f"{path.name}: sform/qform codes {h['sform_code']}/{h['qform_code']}, not 4 (MNI)"
    assert back.get_data_dtype() == np.float32, f"{path.name}: {back.get_data_dtype()} data"
    descrip = h['descrip'].item().decode()
    assert descrip.strip() and 'sematlas' in descrip, f"{path.name}: description {descrip!r}"
    np.testing.assert_allclose(back.get_sform(), back.get_qform(), atol=1e-4)
    t1 = template['t1'].affine
    rel = np.linalg.inv(t1) @ back.affine                       # grid voxel -> 1 mm template voxel
    np.testing.assert_allclose(rel[:3, :3], np.eye(3)*res, atol=1e-5)
    np.testing.assert_allclose(rel[:3, 3], np.round(rel[:3, 3]), atol=1e-5)
    f = res // 2                                                # ... and on the 2 mm template, the centre of an f-block
    rel2 = np.linalg.inv(template['t2'].affine) @ back.affine
    np.testing.assert_allclose(rel2[:3, 3] - (f - 1)/2, np.round(rel2[:3, 3] - (f - 1)/2), atol=1e-5)
    loaded = image.load_img(str(path))
    vol = image.index_img(loaded, 0) if loaded.ndim == 4 else loaded
    with warnings.catch_warnings():                             # a binary map (a mask) resampled linearly is fine here: mass is what counts
        warnings.simplefilter('ignore', UserWarning)
        on_t = image.resample_to_img(vol, template['t2'], interpolation='linear', force_resample=True, copy_header=True)
    x = np.clip(on_t.get_fdata(), 0, None)
    if x.sum() > 0:
        share = x[template['mask2'].get_fdata() > 0].sum()/x.sum()
        assert share >= mass_in_brain, f"{path.name}: only {share:.2f} of the map's mass lies in the template's brain"
    with warnings.catch_warnings():                             # nilearn says it resamples onto the mask's grid: that is the point
        warnings.simplefilter('ignore', UserWarning)
        values = np.atleast_2d(maskers.NiftiMasker(mask_img=template['mask2']).fit().transform(loaded))
    assert values.shape == (loaded.shape[3] if loaded.ndim == 4 else 1, int((template['mask2'].get_fdata() > 0).sum()))
    assert np.isfinite(values).all()
    return back


@needs('vae-full-4mm')
def test_vae_maps(tmp_path, template):
    from sematlas.apps.inference import VAEInference
    vae = VAEInference.load(RELEASE/'vae-full-4mm'/'model.pt')
    peaks = np.array([[-40, 20, 30], [42, 18, 28], [0, -60, 40]], float)
    kinds = {'decoded': vae.decode(np.zeros(vae.latent_dim)), 'reconstruction': vae.reconstruct(peaks),
             'sample': vae.sample(2, seed=0), 'traversal': vae.traverse(0, [-2, 0, 2])}
    for k, img in kinds.items():
        back = check(img, tmp_path/f'{k}.nii.gz', template, 4)
        assert 'vae-full-4mm' in back.header['descrip'].item().decode()
    assert b'traversal of z[0]' in kinds['traversal'].header['descrip'].item()


@needs('cvae-full-4mm')
def test_counterfactual_maps(tmp_path, template):
    from sematlas.apps.counterfactual import CounterfactualMachine
    cm = CounterfactualMachine.load(RELEASE/'cvae-full-4mm'/'model.pt')
    wm = cm.conditions('working memory', year=2015)
    g = cm.generate(wm, n_samples=4)
    diff = cm.difference(wm, cm.conditions(year=2000, like=wm), n_samples=4)
    for k, img in {'expected': g.mean, 'sd': g.sd, 'draws': g.samples}.items():
        check(img, tmp_path/f'{k}.nii.gz', template, 4)
    back = check(diff, tmp_path/'difference.nii.gz', template, 4, mass_in_brain=0.5)   # a difference has mass of both signs
    assert back.header['descrip'].item().decode().startswith('difference; sematlas cvae-full-4mm')


@needs('cvae-text-full-4mm')
def test_text_maps(tmp_path, template):
    from sematlas.apps.counterfactual import CounterfactualMachine
    tm = CounterfactualMachine.load(RELEASE/'cvae-text-full-4mm'/'model.pt')
    check(tm.predict_terms(tm.terms.counts(['working memory', 'reward'])), tmp_path/'terms.nii.gz', template, 4)
    check(tm.generate(tm.conditions(text='semantic memory'), n_samples=2).mean, tmp_path/'text.nii.gz', template, 4)


@needs('cvae-ensemble-full-4mm', 'pointcloud-full')
def test_uncertainty_maps(tmp_path, template):
    from sematlas.apps.ensemble import EnsembleInference
    from sematlas.apps.confidence import confidence_frame
    ens = EnsembleInference.load(RELEASE/'cvae-ensemble-full-4mm'/'ensemble.pt')
    u = ens.generate(ens.conditions('pain', year=2010))
    for k in ('mean', 'aleatoric_sd', 'epistemic_sd', 'total_sd'):
        back = check(getattr(u, k), tmp_path/f'{k}.nii.gz', template, 4)
        assert 'cvae-ensemble-full-4mm' in back.header['descrip'].item().decode()
    f = confidence_frame(ens, {'query': 'pain', 'year': 2010}, 'total', 1e6)      # every voxel shown: few are confident at 1 sd/mean, at the edge
    assert f.confident_share == 1.0
    check(f.masked_mean, tmp_path/'confident.nii.gz', template, 4)


@needs('cvae-full-4mm')
def test_forecast_maps(tmp_path, template):
    from sematlas.forecast import forecast, save_forecast
    model = RELEASE/'cvae-full-4mm'/'model.pt'
    if not (model.parent/'zeitgeist'/'forecaster.pt').exists(): pytest.skip('no zeitgeist series beside the released model')
    fc = forecast(model, [2017], method='linear trend', n_samples=2)
    files = save_forecast(fc, tmp_path/'fc.npz')
    back = check(nib.load(files[1]), tmp_path/'fc_2017_again.nii.gz', template, 4)
    assert 'forecast 2017' in back.header['descrip'].item().decode()


@needs('cvae-full-2mm')
def test_2mm_maps(tmp_path, template):
    from sematlas.apps.counterfactual import CounterfactualMachine
    cm = CounterfactualMachine.load(RELEASE/'cvae-full-2mm'/'model.pt')
    check(cm.generate(cm.conditions(year=2010), n_samples=1).mean, tmp_path/'g2.nii.gz', template, 2)


def test_study_maps_and_grids(tmp_path, template):
    "Peak-density maps of studies (the training data) at 8 mm, and an empty map on each grid."
    from sematlas.data.grid import MNIGrid
    from sematlas.data.prepare import prepare
    data = prepare('mock', 8, progress=False)
    sid = data.splits['train'][0]
    back = check(data.cache.to_nifti(sid, 12), tmp_path/'study.nii.gz', template, 8, mass_in_brain=0.8)
    assert sid in back.header['descrip'].item().decode()
    for res in (2, 4, 8):
        g = MNIGrid.at(res)
        check(g.to_nifti(g.mask.astype('float32'), f'sematlas brain mask {res}mm'), tmp_path/f'grid{res}.nii', template, res)


@needs('vae-full-4mm')
def test_cli_writes_the_same_header(tmp_path, template):
    "What `sematlas sample` writes (through the command line's own saver)."
    out = tmp_path/'cli.nii.gz'
    r = subprocess.run([sys.executable, '-m', 'sematlas.cli', 'sample', str(RELEASE/'vae-full-4mm'/'model.pt'), '-n', '2', '-o', str(out)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    check(nib.load(out), tmp_path/'cli_again.nii.gz', template, 4)
