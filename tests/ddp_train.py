"""`train` with a recorder, for tests/test_ddp.py: `python tests/ddp_train.py CONFIG OUT [--set KEY=VALUE ...]`.

Lightning's DDP launcher starts this same command again for every other process, so each rank records the
studies of its training batches (one line per epoch) and, at the end, its weights and the KL weight `beta`.
With `EXIT_AT_EPOCH=e`, every rank exits hard when epoch `e` starts: a killed job, to be resumed.
"""
import json, os, sys
from pathlib import Path
import torch
from lightning.pytorch.callbacks import Callback
from sematlas.cli import _overrides
from sematlas.training.config import TrainConfig
from sematlas.training.train import train


class Record(Callback):
    def __init__(self, out: Path): self.out, self.ids = out, []
    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == int(os.environ.get('EXIT_AT_EPOCH', -1)): os._exit(3)
        self.ids = []
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx): self.ids.append(list(batch['id']))
    def on_train_epoch_end(self, trainer, pl_module):
        with open(self.out/f'batches_{trainer.global_rank}.jsonl', 'a') as f:
            f.write(json.dumps({'epoch': trainer.current_epoch, 'ids': self.ids}) + '\n')
    def on_train_end(self, trainer, pl_module):
        r = trainer.global_rank
        torch.save({k: v.detach().cpu() for k, v in pl_module.state_dict().items()}, self.out/f'weights_{r}.pt')
        (self.out/f'beta_{r}.json').write_text(json.dumps({'beta': float(getattr(pl_module, 'beta', float('nan'))), 'world_size': trainer.world_size}))


if __name__ == '__main__':
    config, out, sets = sys.argv[1], Path(sys.argv[2]), sys.argv[4:] if len(sys.argv) > 3 else []
    out.mkdir(parents=True, exist_ok=True)
    train(TrainConfig.load(config, _overrides(sets)), progress=False, callbacks=[Record(out)])
