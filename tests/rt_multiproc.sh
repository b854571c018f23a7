#!/bin/sh
# rt_multiproc.sh LLMCAL -- one process per rank, the mpirun/srun path of `llmcal run` without MPI:
# two processes, each given Slurm's variables by hand (SLURM_PROCID 0/1, SLURM_NTASKS 2,
# SLURM_LOCALID 0/1 as srun(1) sets them), run gpt2-small with pp=2 on two GPUs and meet through
# the rendezvous file. Checked: both exit 0; each wrote its own report (--out) for its own rank;
# rank 0 removed the rendezvous file after ncclCommInitRank; the loss of every step equals the
# single-process run's (one thread per GPU, ncclCommInitAll) to 1e-5 relative -- the same
# kernels and exact NCCL copies, so only the communicator set-up differs.
# Needs 2 GPUs and jq (exit 77 = skipped otherwise). Label gpu.
set -u
LLMCAL=$1
command -v jq >/dev/null 2>&1 || { echo "no jq: skipped"; exit 77; }
n=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
[ "${n:-0}" -ge 2 ] || { echo "fewer than 2 GPUs: skipped"; exit 77; }
dir=$(mktemp -d /tmp/llmcal-mp-XXXXXX)
trap 'rm -rf "$dir"' EXIT
flags="--backend cuda --model gpt2-small --gpus 2 --pp 2 --seq 128 --mbs 1 --gbs 8 --steps 3
       --precision fp32 --json"
fail=0
# shellcheck disable=SC2086
"$LLMCAL" run $flags > "$dir/single.json" || { echo "FAILED: single-process run"; fail=1; }
for r in 0 1; do
    # shellcheck disable=SC2086
    SLURM_PROCID=$r SLURM_NTASKS=2 SLURM_LOCALID=$r SLURM_JOB_ID=$$ SLURM_STEP_ID=0 \
        "$LLMCAL" run $flags --rendezvous "$dir/nccl.id" --rendezvous-timeout 120 \
        --out "$dir/mp" > "$dir/stdout.$r" 2> "$dir/stderr.$r" &
    eval "pid$r=\$!"
done
wait "$pid0"; rc0=$?
wait "$pid1"; rc1=$?
[ "$rc0" -eq 0 ] && [ "$rc1" -eq 0 ] || {
    echo "FAILED: process exit codes $rc0 $rc1"; cat "$dir/stderr.0" "$dir/stderr.1"; fail=1; }
[ ! -e "$dir/nccl.id" ] || { echo "FAILED: rendezvous file left behind"; fail=1; }
[ -s "$dir/stdout.1" ] && { echo "FAILED: rank 1 printed to stdout"; fail=1; }
for r in 0 1; do
    got=$(jq -r '.mode + " " + (.ranks[0].rank|tostring)' "$dir/mp.rank$r.json" 2>/dev/null)
    [ "$got" = "process-per-rank $r" ] || { echo "FAILED: rank $r report: '$got'"; fail=1; }
done
ok=$(jq -n --slurpfile a "$dir/single.json" --slurpfile b "$dir/mp.rank0.json" \
    '[$a[0].loss, $b[0].loss] | transpose | map((.[0] - .[1]) / .[0] | fabs < 1e-5) | all' \
    2>/dev/null)
[ "$ok" = "true" ] || { echo "FAILED: losses differ:"; jq -c .loss "$dir/single.json" \
    "$dir/mp.rank0.json"; fail=1; }
echo "$((fail == 0)) passed, $fail failed"
exit "$fail"
