#!/bin/bash
# Submits a split warpsmith run: N array tasks of generate.sbatch, then merge.sbatch once all succeeded.
#   WARPSMITH_OUT=/shared/ws WARPSMITH_ARGS="--count 1000000 --seed 7" examples/slurm/submit.sh 64
# Extra sbatch options (partition, account) go in SBATCH_* environment variables, which sbatch reads.
set -euo pipefail
N="${1:?usage: submit.sh N (the number of array tasks)}"
here="$(cd "$(dirname "$0")" && pwd)"
: "${WARPSMITH_OUT:?set WARPSMITH_OUT to a directory that every node sees}"
export WARPSMITH_OUT WARPSMITH_ARGS WARPSMITH WARPSMITH_PYTHON WARPSMITH_HOME
parts=$(sbatch --parsable --export=ALL --array="0-$((N - 1))" "$here/generate.sbatch")
merge=$(sbatch --parsable --export=ALL --dependency="afterok:${parts%%;*}" "$here/merge.sbatch")
echo "array job ${parts%%;*} ($N parts), merge job ${merge%%;*} -> $WARPSMITH_OUT/dataset"
