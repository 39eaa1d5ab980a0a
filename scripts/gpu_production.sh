#!/usr/bin/env bash
# The GPU production run of the conditional model at 2 mm, in one command (about 9 minutes on one H100-class GPU):
# install the project, prepare the full 2 mm cache, train within the config's time budget (6 minutes), score the
# model against the baselines, analyse it, measure the training speed and the share of the GPU's peak, and put
# everything in one folder.
#
#   bash scripts/gpu_production.sh NEUROSYNTH_DIR [OUT_DIR] [DEVICES]
#
# DEVICES (default 1, or $DEVICES): GPUs of this machine to train on, one process each (Lightning's DDP; the
# config's batch_size is per GPU). Lightning starts the other processes itself.
#
# Variables: WHEELS (a folder of wheels to install first, for machines without a package index), CONFIG
# (default configs/cvae-full-2mm.yaml), SET (extra --set overrides, e.g. "data.scale=mock data.res=8" for a dry run
# on a CPU), DEVICE (cuda or cpu), METHODS (evaluation methods, default base_rate topic_ridge vae; "none": no evaluation), ANALYZE (set: also analyse; ANALYZE_ARGS: more arguments of `sematlas analyze`, e.g. --reference RUN_DIR),
# CALIBRATE (set: calibrate the run's snapshot ensemble, nbs/49_calibration.ipynb), BENCH (set: a benchmark script run on the finished
# run as `python3 $BENCH RUN --device DEVICE --out OUT_DIR/bench.json`). OUT_DIR gets release.tar.gz (the release folder: model (and,
# for a snapshot ensemble, ensemble.pt), config, metrics, evaluation, analysis, calibration, figures), speed.json, gpu.txt and
# log.txt, and with CALIBRATE calibration.json, calibration.md and reliability.png.
set -euo pipefail
DATA=${1:?usage: gpu_production.sh NEUROSYNTH_DIR [OUT_DIR] [DEVICES]}
OUT=${2:-runs/gpu-production}
DEVICES=${3:-${DEVICES:-1}}
CONFIG=${CONFIG:-configs/cvae-full-2mm.yaml}
DEVICE=${DEVICE:-cuda}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd); WORK=$(mktemp -d)
exec > >(tee "$OUT/log.txt") 2>&1
t0=$SECONDS; step() { echo; echo "== $1 ($((SECONDS - t0)) s)"; }
step install
if [ -n "${WHEELS:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target "$WORK/site" "$WHEELS"/*.whl
  export PYTHONPATH="$WORK/site:${PYTHONPATH:-}"
fi
python3 -m pip install -q --no-deps --no-build-isolation --no-index -e . || export PYTHONPATH="$PWD:${PYTHONPATH:-}"
SEMATLAS="python3 -m sematlas.cli"
(nvidia-smi || echo "no nvidia-smi") > "$OUT/gpu.txt" 2>&1
python3 -c "import torch, sematlas; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'sematlas', sematlas.__version__)"
export SEMATLAS_DATA_DIR="$WORK/data" PYTHONUNBUFFERED=1
NAME=$(python3 -c "import yaml,sys; print(yaml.safe_load(open('$CONFIG'))['name'])")
SETS="data.data_dir=$DATA loop.runs_dir=$WORK/runs loop.logger=csv loop.devices=$DEVICES ${SET:-}"
read -r SCALE RES SOURCE <<<"$(python3 -c "
from sematlas.training.config import TrainConfig
from sematlas.cli import _overrides
c = TrainConfig.load('$CONFIG', _overrides('$SETS'.split()))
print(c.data.scale, c.data.res, c.data.source)")"
step "prepare ($SCALE $RES mm, $SOURCE)"
$SEMATLAS prepare --scale $SCALE --res $RES --source $SOURCE --data-dir "$DATA"
step "train ($DEVICES device(s))"
$SEMATLAS train --config "$CONFIG" --set $SETS --quiet
RUN="$WORK/runs/$NAME"
set +e                                      # from here on, a failing step leaves the others (and the release) standing
step "speed and share of the peak"
python3 - "$RUN" "$DEVICE" "$OUT/speed.json" <<'PY'
import json, sys, importlib.util
from pathlib import Path
spec = importlib.util.spec_from_file_location('train_speed', Path('benchmarks/train_speed.py')); ts = importlib.util.module_from_spec(spec); spec.loader.exec_module(ts)
from sematlas.training.runs import Run
run, device = Run(Path(sys.argv[1])), sys.argv[2]
info = run.info
vps = info['train_vol_per_s_median']
out = {'device': info['device_name'], 'devices': info.get('processes', 1), 'precision': info['precision'], 'epochs_run': info['epochs_run'], 'fit_wall_s': info['fit_wall_s'],
       'train_vol_per_s_median': vps, 'throughput': info['throughput']}
if device.startswith('cuda'):
    out['flops_per_volume'] = ts.model_flops(run, device)
    peak = next((v for k, v in ts.PEAK_BF16.items() if k in out['device']), None)
    if peak: out['share_of_bf16_peak'] = out['flops_per_volume']*vps/(peak*out['devices'])   # of all the GPUs' peak
Path(sys.argv[3]).write_text(json.dumps(out, indent=1)); print(json.dumps({k: v for k, v in out.items() if k != 'throughput'}, indent=1))
PY
if [ "${METHODS:=base_rate topic_ridge vae}" != none ]; then
  step "evaluate ($METHODS; NiMARE's MKDA and ALE need the whole NiMARE stack)"
  $SEMATLAS evaluate "$RUN" --methods $METHODS --device "$DEVICE" && cat "$RUN/eval.md"
fi
if [ -n "${ANALYZE:-}" ]; then step analyse; $SEMATLAS analyze "$RUN" --device "$DEVICE" ${ANALYZE_ARGS:-}; fi
if [ -n "${CALIBRATE:-}" ]; then
  step "calibrate the snapshot ensemble"
  python3 -c "from sematlas.evaluation.calibration import calibrate; calibrate('$RUN', '$DEVICE')" && cp "$RUN"/calibration.{json,md} "$RUN/reliability.png" "$OUT/"
fi
if [ -n "${BENCH:-}" ]; then step "benchmark ($BENCH)"; python3 "$BENCH" "$RUN" --device "$DEVICE" --out "$OUT/bench.json"; fi
step release
python3 -c "from sematlas.training.runs import release_run; release_run('$RUN', '$WORK/release/$NAME')"
cp "$RUN/eval_per_study.csv" "$RUN/test_metrics.json" "$WORK/release/$NAME/" 2>/dev/null || true
[ -d "$RUN/analysis" ] && cp -r "$RUN/analysis" "$WORK/release/$NAME/"            # the analysis's tables and figures (hvae)
tar -C "$WORK/release" -czf "$OUT/release.tar.gz" "$NAME"
step "done: $OUT"
