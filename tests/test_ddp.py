"""Training on two processes: Lightning's DDP on the CPU (gloo), started as users start it, through a script that calls `train`
(`tests/ddp_train.py`; Lightning's launcher runs the same command again for rank 1, or torchrun starts both at once). Each
rank reads its own studies, the weights and the KL controller agree across ranks at the end, a killed run resumes, the run
folder is laid out as a one-process run's, and the same config gives the same weights whichever launcher started it."""
import json, os, signal, subprocess, sys
from pathlib import Path
import pandas as pd
import pytest, torch, yaml

ROOT = Path(__file__).resolve().parents[1]
EPOCHS, BATCH = 2, 4


def _config(tmp: Path, name: str, kind: str, **loop) -> Path:
    c = {'name': name, 'data': {'scale': 'mock', 'res': 8, 'derived_dir': str(tmp/'mock')},
         'model': {'kind': kind, 'latent_dim': 8, 'width': 8},
         'loop': {'epochs': EPOCHS, 'batch_size': BATCH, 'num_workers': 0, 'logger': 'csv', 'figure_every': 1, 'threads': 1,
                  'runs_dir': str(tmp/'runs'), **loop}}
    if kind == 'cvae': c['objective'] = {'kl_target': 5.0, 'adversary_weight': 1.0}
    path = tmp/f'{name}.yaml'; path.write_text(yaml.safe_dump(c))
    return path


def _train(config: Path, out: Path, *sets: str, env: dict | None = None, ok: bool = True, torchrun: bool = False) -> subprocess.CompletedProcess:
    "Run `tests/ddp_train.py` (and whatever it launches) in a session of its own, and leave no process of it behind."
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1', **(env or {})}
    launcher = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node=2'] if torchrun else [sys.executable]
    p = subprocess.Popen([*launcher, str(ROOT/'tests'/'ddp_train.py'), str(config), str(out), '--set', *sets], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try: log = p.communicate(timeout=420)[0]
    finally:
        try: os.killpg(p.pid, signal.SIGKILL)                   # a rank left behind by a killed run
        except ProcessLookupError: pass
    if ok: assert p.returncode == 0, log[-6000:]
    return subprocess.CompletedProcess(p.args, p.returncode, log)


def _batches(out: Path, rank: int) -> dict:
    "{epoch: [batch ids]} that `rank` trained on (a resumed run's attempts together)."
    return {r['epoch']: r['ids'] for r in map(json.loads, (out/f'batches_{rank}.jsonl').read_text().splitlines())}


def _check_ranks(out: Path, n_train: int, train_ids: set):
    "Both ranks: different studies in every epoch, as many steps each, and equal weights at the end."
    b0, b1 = _batches(out, 0), _batches(out, 1)
    assert sorted(b0) == sorted(b1) == list(range(EPOCHS))
    for e in range(EPOCHS):
        ids0, ids1 = [i for b in b0[e] for i in b], [i for b in b1[e] for i in b]
        assert len(b0[e]) == len(b1[e]) == n_train//2//BATCH, (len(b0[e]), len(b1[e]))
        assert not set(ids0) & set(ids1) and set(ids0) | set(ids1) <= train_ids
        assert len(set(ids0)) == len(ids0) == len(b0[e])*BATCH
    assert b0[0] != b0[1]                                        # a new order every epoch
    w0, w1 = torch.load(out/'weights_0.pt'), torch.load(out/'weights_1.pt')
    assert w0.keys() == w1.keys()
    for k in w0: assert torch.equal(w0[k], w1[k]), k
    return w0


def _layout(run: Path) -> list:
    return sorted(p.relative_to(run).as_posix() for p in run.rglob('*') if p.is_file())


@pytest.fixture(scope='module')
def tmp(tmp_path_factory): return tmp_path_factory.mktemp('ddp')


def test_two_processes_like_one(tmp):
    "The cache-backed loader: two processes against one, on the same data and config."
    one = _train(_config(tmp, 'one', 'vae'), tmp/'rec-one')
    two = _train(_config(tmp, 'two', 'vae'), tmp/'rec-two', 'loop.devices=2', 'loop.strategy=ddp')
    assert 'Starting with 2 processes' in two.stdout and 'gloo' in two.stdout
    runs = tmp/'runs'
    assert _layout(runs/'one') == _layout(runs/'two') and not (runs/'two.partial').exists()
    info = json.loads((runs/'two'/'run.json').read_text())
    n_train = info['splits']['train']
    splits = json.loads((tmp/'mock'/'splits.json').read_text())
    w = _check_ranks(tmp/'rec-two', n_train, set(map(str, splits['train'])))
    assert info['processes'] == 2 and json.loads((runs/'one'/'run.json').read_text())['processes'] == 1
    assert info['global_step'] == EPOCHS*(n_train//2//BATCH)
    last = torch.load(runs/'two'/'checkpoints'/'last.ckpt', weights_only=False)['state_dict']
    for k in w: assert torch.equal(last[k], w[k]), k            # the checkpoint rank 0 wrote holds the weights of both
    one_batches = _batches(tmp/'rec-one', 0)
    assert len(one_batches[0]) == n_train//BATCH and not (tmp/'rec-one'/'batches_1.jsonl').exists()
    # torchrun starts both ranks at once (rank 1 waits for rank 0's run.json): the same batches and, to the bit, the same weights
    _train(_config(tmp, 'two-torchrun', 'vae'), tmp/'rec-torchrun', 'loop.devices=2', 'loop.strategy=ddp', torchrun=True)
    assert _layout(runs/'two-torchrun') == _layout(runs/'two')
    for r in (0, 1): assert _batches(tmp/'rec-torchrun', r) == _batches(tmp/'rec-two', r)
    wt = _check_ranks(tmp/'rec-torchrun', n_train, set(map(str, splits['train'])))
    for k in w: assert torch.equal(wt[k], w[k]), k


def test_two_processes_resident_kl_control_resume(tmp):
    "The resident loader, the conditional model's KL controller, a time budget with a cosine rate; killed after epoch 0, resumed."
    cfg = _config(tmp, 'cvae-two', 'cvae', devices=2, strategy='ddp', max_minutes=30, lr_schedule='cosine')
    sets = ('data.resident=true',)
    killed = _train(cfg, tmp/'rec-cvae', *sets, env={'EXIT_AT_EPOCH': '1'}, ok=False)
    partial = tmp/'runs'/'cvae-two.partial'
    assert killed.returncode != 0 and (partial/'checkpoints'/'last.ckpt').exists() and not (tmp/'runs'/'cvae-two').exists()
    _train(cfg, tmp/'rec-cvae', *sets)                          # the same command resumes from the end of epoch 0
    run = tmp/'runs'/'cvae-two'
    info = json.loads((run/'run.json').read_text())
    splits = json.loads((tmp/'mock'/'splits.json').read_text())
    _check_ranks(tmp/'rec-cvae', info['splits']['train'], set(map(str, splits['train'])))
    beta0, beta1 = (json.loads((tmp/'rec-cvae'/f'beta_{r}.json').read_text()) for r in (0, 1))
    assert beta0 == beta1 and beta0['world_size'] == 2 and beta0['beta'] != 1.0   # the controller moved, the same on both ranks
    assert info['global_step'] == EPOCHS*(info['splits']['train']//2//BATCH)
    assert sorted(pd.read_csv(run/'metrics.csv')['epoch'].dropna().unique().astype(int).tolist()) == list(range(EPOCHS))
    assert {'model.pt', 'test_metrics.json', 'figures/final.png', 'logs/attempt_0/metrics.csv', 'logs/attempt_1/metrics.csv'} <= set(_layout(run))
