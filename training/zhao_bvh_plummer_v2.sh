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
source "$(dirname "$0")/_common.sh" training/zhao_bvh_plummer_v2.toml out/zhao_bvh_plummer_v2 "$@"

# 1. training sets (training/zhao_bvh_plummer_v2_sets.sh): two train splits, a train-box set
#    with the exact Jacobian, the held-out validation split
source training/zhao_bvh_plummer_v2_sets.sh

# 2. the emulator (resumes from its last epoch if interrupted); --overwrite replaces the
#    shipped folder as a whole (weights, card and report together)
TRAIN_FLAGS=${TRAIN_FLAGS:---max-minutes 30 --plateau-patience 8 --patience 20}
GRAD_WEIGHT=${GRAD_WEIGHT:-0}
dynamicall train "$RECIPE" "${V2_DATA[@]}" --val "$OUT_DIR/validation.h5" \
    --out emulators/zhao_bvh_plummer_v2 --overwrite \
    "${V2_NETWORK[@]}" --grad-weight "$GRAD_WEIGHT" $TRAIN_FLAGS

# 3. validation on fresh profiles (values, and gradients on 1024 of them)
dynamicall validate emulators/zhao_bvh_plummer_v2 --n 32768 --n-gradient 1024
