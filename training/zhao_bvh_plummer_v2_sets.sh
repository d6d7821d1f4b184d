# The training sets and the network of zhao_bvh_plummer_v2, sourced (after _common.sh) by
# its script and by training/zhao_bvh_plummer_v3.sh, which reuses them.
#
# The train split (2^17 scrambled Sobol' points over the guard-band box) and a second one
# with another seed, a third train-box set with the exact Jacobian d ln sigma / d inputs
# (another seed, forward-mode autodiff, ~9x the cost per profile), and the held-out
# validation split (i.i.d. over the advertised box).
generate train.h5 --split train
generate train_extra.h5 --split train --seed 20240612
generate train_jacobian.h5 --split train --seed 20240611 --n 32768 --chunk 2048 --jacobian
generate validation.h5 --split validation --n 8192 --chunk 2048
V2_DATA=(--data "$OUT_DIR/train.h5" --data "$OUT_DIR/train_extra.h5" --data "$OUT_DIR/train_jacobian.h5")
# a 3x128 SiLU MLP on the quadrature baseline
V2_NETWORK=(--width 128 --depth 3 --activation silu --baseline quadrature)
