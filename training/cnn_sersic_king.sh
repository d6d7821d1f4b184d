#!/usr/bin/env bash
# Regenerate the CNN emulator "cnn_sersic_king" from its recipe: a 1D-CNN encoder of the
# tracer's ln(Sigma / Sigma(R_half)) on 64 radii 0.01-30 R_half (two stride-2 convolutions,
# 8 and 16 channels, kernel 5, 16 features) + a 4x192 SiLU MLP head on the 8 halo and
# anisotropy inputs and those features, on the quadrature baseline. The tracers are drawn
# from the SersicKing family (Sersic n 0.5-8, King c 0.7-2.5; see the recipe).
#
#   training/cnn_sersic_king.sh [OUT_DIR]        (default: out/cnn_sersic_king)
#
# Each step is resumable: run the script again after an interruption. The training sets
# stay in OUT_DIR (never commit them); only emulators/cnn_sersic_king/ is shipped.
# GPUs / clusters: see training/zhao_bvh_plummer.sh (LAUNCH, GENERATE_FLAGS, TRAIN_FLAGS).
source "$(dirname "$0")/_common.sh" training/cnn_sersic_king.toml out/cnn_sersic_king "$@"

# 1. training sets: the train split (2^17 scrambled Sobol' points over the guard-band box),
#    two more train-box sets of other seeds (2^18 and 2^19 profiles; 917,504 in all), and
#    the held-out validation split (i.i.d. over the advertised box). ~0.25 ms per profile
#    on one CPU core: about two minutes for all of them on two cores.
generate train.h5 --split train
generate train_more.h5 --split train --seed 20261206 --n 262144
generate train_more2.h5 --split train --seed 20261207 --n 524288
generate validation.h5 --split validation

# 2. the emulator: one run, a cosine decay of the learning rate from 2e-3 over 80 minutes
#    (the shipped run: 80 minutes on one core of a 2-core machine, ~120 epochs; a faster
#    machine runs more epochs in the same budget). Resumes from its last epoch if
#    interrupted. --overwrite replaces the shipped folder as a whole (weights, card and
#    report together).
NET="--family cnn_mlp --channels 8,16 --kernel 5 --features 16 --width 192 --depth 4 --activation silu --baseline quadrature"
TRAIN_FLAGS=${TRAIN_FLAGS:---schedule cosine --lr 2e-3 --max-minutes 80 --patience 1000}
dynamicall train "$RECIPE" --data "$OUT_DIR/train.h5" --data "$OUT_DIR/train_more.h5" \
    --data "$OUT_DIR/train_more2.h5" --val "$OUT_DIR/validation.h5" \
    --out emulators/cnn_sersic_king --overwrite $NET $TRAIN_FLAGS

# 3. validation on fresh profiles over the whole domain (values, and gradients on 512 of them)
dynamicall validate emulators/cnn_sersic_king --n 8192 --n-gradient 512
