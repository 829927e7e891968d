#!/usr/bin/env bash
# Submits a sharded birealsim sweep to Slurm: an array of N sweep tasks (sweep.sbatch, one shard each) and a
# merge job (merge.sbatch) that waits for all of them with --dependency=afterok (docs/scale-out.md).
#
#   examples/slurm/submit.sh <spec.json> <out-dir> <N> [extra sbatch options, e.g. --partition=cpu]
#
# Writes <out-dir>/part-1.jsonl .. part-N.jsonl, <out-dir>/merged.jsonl and the jobs' logs
# <out-dir>/slurm-<jobid>_<task>.out and slurm-<jobid>-merge.out. Prints the two job ids, the last line as
# `sweep=<id> merge=<id>`. If a shard fails, the merge job is cancelled (--kill-on-invalid-dep=yes); fix
# the cause and run this again with the same arguments: finished shards and points are resumed, not redone.
# BIREALSIM (the birealsim command line, default `birealsim`) is passed to the jobs in their environment.
set -euo pipefail

if [ $# -lt 3 ]; then
  echo "usage: $0 <spec.json> <out-dir> <N> [sbatch options...]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
spec=$(realpath "$1")
mkdir -p "$2"
outdir=$(realpath "$2")
n=$3
shift 3
case $n in
  '' | *[!0-9]* | 0) echo "error: N must be a positive integer, got '$n'" >&2; exit 2 ;;
esac
[ -f "$spec" ] || { echo "error: no spec file $spec" >&2; exit 2; }

sweep=$(sbatch --parsable --array="1-${n}" --output="${outdir}/slurm-%A_%a.out" "$@" \
  "${here}/sweep.sbatch" "$spec" "$outdir")
sweep=${sweep%%;*}
merge=$(sbatch --parsable --dependency="afterok:${sweep}" --kill-on-invalid-dep=yes \
  --output="${outdir}/slurm-%j-merge.out" "$@" "${here}/merge.sbatch" "$outdir" "$n")
merge=${merge%%;*}
echo "submitted sweep array job ${sweep} (${n} shards of ${spec}) and merge job ${merge} -> ${outdir}/merged.jsonl"
echo "sweep=${sweep} merge=${merge}"
