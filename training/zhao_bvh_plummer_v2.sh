#!/usr/bin/env bash
# Regenerate the emulator "zhao_bvh_plummer_v2" from its recipe: a 3x128 SiLU MLP on the
# quadrature baseline, trained on a box 10 % wider than the advertised domain (guard band).
# The Jacobian set is generated too (its rows join the training values); the Jacobian loss
# (--grad-weight) did not pay on the CPU budget this emulator was trained with (see
# docs/emulators.md, "Pareto study"): set GRAD_WEIGHT=0.1 to use it (e.g. on a GPU).
#
#   training/zhao_bvh_plummer_v2.sh [OUT_DIR]        (default: out/zhao_bvh_plummer_v2)
#
# Each step is resumable: run the script again after an interruption. The training sets
# stay in OUT_DIR (never commit them); only emulators/zhao_bvh_plummer_v2/ is shipped.
# GPUs / clusters: see training/zhao_bvh_plummer.sh (LAUNCH, GENERATE_FLAGS, TRAIN_FLAGS).
set -euo pipefail
cd "$(dirname "$0")/.."
RECIPE=training/zhao_bvh_plummer_v2.toml
OUT_DIR=${1:-out/zhao_bvh_plummer_v2}
LAUNCH=${LAUNCH:-}
GENERATE_FLAGS=${GENERATE_FLAGS:-}
mkdir -p "$OUT_DIR"

# 1. training sets: the train split (2^17 scrambled Sobol' points over the guard-band box)
#    and a second one with another seed,
#    a second train-box set with the exact Jacobian d ln sigma / d inputs (another seed,
#    forward-mode autodiff, ~9x the cost per profile), and the held-out validation split
#    (i.i.d. over the advertised box)
$LAUNCH dynamicall generate "$RECIPE" --split train --out "$OUT_DIR/train.h5" $GENERATE_FLAGS
$LAUNCH dynamicall generate "$RECIPE" --split train --seed 20240612 --out "$OUT_DIR/train_extra.h5" $GENERATE_FLAGS
$LAUNCH dynamicall generate "$RECIPE" --split train --seed 20240611 --n 32768 --chunk 2048 --jacobian \
    --out "$OUT_DIR/train_jacobian.h5" $GENERATE_FLAGS
$LAUNCH dynamicall generate "$RECIPE" --split validation --n 8192 --chunk 2048 \
    --out "$OUT_DIR/validation.h5" $GENERATE_FLAGS

# 2. the emulator (resumes from its last epoch if interrupted); --overwrite replaces the
#    shipped folder as a whole (weights, card and report together)
TRAIN_FLAGS=${TRAIN_FLAGS:---max-minutes 30 --plateau-patience 8 --patience 20}
GRAD_WEIGHT=${GRAD_WEIGHT:-0}
dynamicall train "$RECIPE" --data "$OUT_DIR/train.h5" --data "$OUT_DIR/train_extra.h5" \
    --data "$OUT_DIR/train_jacobian.h5" --val "$OUT_DIR/validation.h5" \
    --out emulators/zhao_bvh_plummer_v2 --overwrite --width 128 --depth 3 --activation silu \
    --baseline quadrature --grad-weight "$GRAD_WEIGHT" $TRAIN_FLAGS

# 3. validation on fresh profiles (values, and gradients on 1024 of them)
dynamicall validate emulators/zhao_bvh_plummer_v2 --n 32768 --n-gradient 1024
