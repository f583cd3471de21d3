#!/usr/bin/env bash
# The GPU backend trains the same model as the CPU backend (label gpu):
#   1 rank --device cpu  ==  1 rank --device cuda --comm nccl        (kernels, NCCL at W=1,
#                                                                    in ~9 overlapped buckets)
#   1 rank cuda nccl     ==  2 and 4 ranks --device cuda --comm mpi  (staged, same global batch;
#                                                                    the 4-rank run streams its
#                                                                    batches from pinned memory)
#                        ==  1 rank --device cuda (--comm auto: no all-reduce at one rank)
# 50 Adam steps of the MLP on Fashion-MNIST; compare_params bounds the differences with
# the golden tolerances (tests/tolerance.h). Exit 77 (skipped) without a CUDA device.
#   train_equivalence.sh DPTRAIN COMPARE_PARAMS GPU_PROBE OUT_DIR
set -euo pipefail
dptrain=$1 compare=$2 probe=$3 out=$4
here=$(cd "$(dirname "$0")" && pwd)
"$probe" || exit $?
source "$here/../../launch/mpi-env.sh"
mkdir -p "$out"
args=(--data fashion-mnist --hidden 128,64 --batch-size 64 --steps 50 --lr 1e-3 --seed 7 --check-every 1
      --run-dir none --progress none)
run() {  # run RANKS NAME FLAGS...
  local ranks=$1 name=$2
  shift 2
  dptrain_mpi_flags "$ranks"
  echo "== $name: $ranks rank(s) $*"
  mpiexec -n "$ranks" "${MPIRUN_FLAGS[@]}" "$dptrain" "${args[@]}" "$@" --export "$out/$name.safetensors"
}
run 1 cpu --device cpu
run 1 cuda_nccl --device cuda --comm nccl --bucket-mb 0.05
run 2 cuda_staged2 --device cuda --comm mpi
run 4 cuda_staged4 --device cuda --comm mpi --gpu-data stream
run 1 cuda_local --device cuda
"$compare" "$out/cpu.safetensors" "$out/cuda_nccl.safetensors"
"$compare" "$out/cuda_nccl.safetensors" "$out/cuda_staged2.safetensors" "$out/cuda_staged4.safetensors" \
  "$out/cuda_local.safetensors"
