# Shared set-up of the training scripts: sourced, never run on its own.
#
#   source "$(dirname "$0")/_common.sh" RECIPE DEFAULT_OUT_DIR "$@"
#
# Strict mode; the repository root as the working folder (a relative OUT_DIR is read from
# there); OUT_DIR (the script's first argument, else DEFAULT_OUT_DIR), created; and the
# launch variables of every script: LAUNCH (e.g. LAUNCH="srun") and GENERATE_FLAGS (e.g.
# "--distributed", one process per GPU; see docs/training_sets.md, "Clusters").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RECIPE=$1
OUT_DIR=${3:-$2}
LAUNCH=${LAUNCH:-}
GENERATE_FLAGS=${GENERATE_FLAGS:-}
mkdir -p "$OUT_DIR"

# generate FILE OPTION...: `dynamicall generate` of $RECIPE into $OUT_DIR/FILE. Resumable:
# a finished file is kept, a half-done one resumes where it stopped.
generate() {
    local file=$1
    shift
    $LAUNCH dynamicall generate "$RECIPE" "$@" --out "$OUT_DIR/$file" $GENERATE_FLAGS
}
