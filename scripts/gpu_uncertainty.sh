#!/usr/bin/env bash
# The snapshot ensemble of the censored-Gaussian conditional model (issue 15) on one GPU, in one command (about 4-5
# minutes on one H100 with data preparation; the fit itself 75 s, 5 cycles): install, prepare the full 4 mm cache, train
# configs/cvae-ensemble-full-4mm.yaml (5 cosine cycles, a member at the end of each), score its best member against the
# base rate, calibrate the ensemble (ECE on the test split before and after temperature scaling fitted on validation,
# reliability diagram, log-likelihood gain over one member), time decoding with 5 members against 1, and put everything
# in one folder:
#
#   WHEELS=.whl bash scripts/gpu_uncertainty.sh .devdata/neurosynth "$OUT"
#
# OUT_DIR gets release.tar.gz (runs/release/cvae-ensemble-full-4mm: ensemble.pt, config, metrics, eval.md, calibration.md,
# calibration.json, reliability.png, figures), calibration.json/.md, reliability.png, bench.json, speed.json, gpu.txt, log.txt.
# A dry run on a CPU at mock scale:
#   SET="data.scale=mock data.res=8 loop.max_minutes=0.4 loop.epochs=4 loop.batch_size=8 loop.precision=32-true data.resident=false" \
#   DEVICE=cpu bash scripts/gpu_uncertainty.sh ../shared/neurosynth /tmp/gpu-uncertainty-dry
set -euo pipefail
DATA=${1:?usage: gpu_uncertainty.sh NEUROSYNTH_DIR [OUT_DIR]}
OUT=${2:-runs/gpu-uncertainty}
export CONFIG=${CONFIG:-configs/cvae-ensemble-full-4mm.yaml} METHODS=${METHODS:-base_rate vae} CALIBRATE=1 BENCH=${BENCH:-benchmarks/ensemble_speed.py}
exec bash "$(dirname "$0")/gpu_production.sh" "$DATA" "$OUT" 1
