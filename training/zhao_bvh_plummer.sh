#!/usr/bin/env bash
# Regenerate everything of the emulator family "zhao_bvh_plummer" from its recipe.
#
#   training/zhao_bvh_plummer.sh [OUT_DIR]        (default: out/zhao_bvh_plummer)
#
# Each step is resumable: if the script is interrupted (Ctrl-C, kill -9, a lost node), run it
# again and finished files are kept, half-done ones resume where they stopped.
# GPUs / clusters: set LAUNCH, e.g. LAUNCH="srun" with "--distributed" in GENERATE_FLAGS
# (one process per GPU; see docs/training_sets.md, "Clusters").
source "$(dirname "$0")/_common.sh" training/zhao_bvh_plummer.toml out/zhao_bvh_plummer "$@"

# 1. training sets: the train split (scrambled Sobol'), then the held-out validation and test
#    splits (i.i.d., independent seeds); n and seeds are in the recipe
for split in train validation test; do
    generate "$split.h5" --split "$split"
done

# 2. the small reference set shipped in data/ (the first 4096 rows of the test split)
#    dynamicall generate "$RECIPE" --split test --n 4096 --out data/reference_zhao_bvh_plummer.h5

# 3. the emulator: train on the train split, early-stopping on the validation split (resumes
#    from its last epoch if interrupted), then validate on fresh profiles from the exact engine
#    (a seed independent of all three splits); writes emulators/zhao_bvh_plummer/ with its
#    card.json, weights.npz and validation report. TRAIN_FLAGS passes e.g. --max-minutes or,
#    on a GPU, --batch 4096 --lr 4e-3.
TRAIN_FLAGS=${TRAIN_FLAGS:---max-minutes 50 --plateau-patience 3 --patience 12}
dynamicall train "$RECIPE" --data "$OUT_DIR/train.h5" --val "$OUT_DIR/validation.h5" \
    --out emulators/zhao_bvh_plummer --width 256 --depth 4 --activation silu $TRAIN_FLAGS
dynamicall validate emulators/zhao_bvh_plummer --n 32768
