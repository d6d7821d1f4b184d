#!/usr/bin/env bash
# Regenerate the CNN emulator "cnn_sersic_king" from its recipe: a 1D-CNN encoder of the
# tracer's ln(Sigma / Sigma(R_half)) on 64 radii 0.01-30 R_half (two stride-2 convolutions,
# 8 and 16 channels, kernel 5, 16 features) + a 3x128 SiLU MLP head on the 8 halo and
# anisotropy inputs and those features, on the quadrature baseline. The tracers are drawn
# from the SersicKing family (Sersic n 0.5-8, King c 0.7-2.5; see the recipe).
#
#   training/cnn_sersic_king.sh [OUT_DIR]        (default: out/cnn_sersic_king)
#
# Each step is resumable: run the script again after an interruption. The training sets
# stay in OUT_DIR (never commit them); only emulators/cnn_sersic_king/ is shipped.
# GPUs / clusters: see training/zhao_bvh_plummer.sh (LAUNCH, GENERATE_FLAGS, TRAIN_FLAGS).
source "$(dirname "$0")/_common.sh" training/cnn_sersic_king.toml out/cnn_sersic_king "$@"

# 1. training sets: the train split (2^17 scrambled Sobol' points over the guard-band box,
#    ~0.8 ms per profile on one CPU core) and the held-out validation split (i.i.d. over
#    the advertised box)
generate train.h5 --split train
generate validation.h5 --split validation

# 2. the emulator, in two stages (each resumes from its last epoch if interrupted):
#    stage 1: 19 epochs at learning rate 2e-3 (halved on plateaus), into OUT_DIR/stage1;
#    stage 2: from stage 1's best parameters, a cosine decay 1e-3 -> 1e-5 over 27 minutes.
#    (The shipped run's stage 1 was stopped by hand after epoch 19 on a CPU shared with other
#    jobs, when its learning rate had not yet decayed; --max-epochs 19 reproduces it.)
#    --overwrite replaces the shipped folder as a whole (weights, card and report together)
NET="--family cnn_mlp --channels 8,16 --kernel 5 --features 16 --width 128 --depth 3 --activation silu --baseline quadrature"
dynamicall train "$RECIPE" --data "$OUT_DIR/train.h5" --val "$OUT_DIR/validation.h5" \
    --out "$OUT_DIR/stage1" --overwrite $NET --max-epochs 19 --plateau-patience 6 --patience 16
STAGE2_FLAGS=${STAGE2_FLAGS:---schedule cosine --lr 1e-3 --max-minutes 27 --patience 100}
dynamicall train "$RECIPE" --data "$OUT_DIR/train.h5" --val "$OUT_DIR/validation.h5" \
    --out emulators/cnn_sersic_king --overwrite $NET --init-from "$OUT_DIR/stage1" $STAGE2_FLAGS

# 3. validation on fresh profiles over the whole domain (values, and gradients on 512 of them)
dynamicall validate emulators/cnn_sersic_king --n 8192 --n-gradient 512
