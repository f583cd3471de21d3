#!/usr/bin/env bash
# Installs the Debian packages dptrain needs, only those that are missing:
#   launch/install-deps.sh build   compilers, CMake, Open MPI, OpenBLAS, CLI11, JSON, zlib, Fashion-MNIST
#   launch/install-deps.sh test    the above plus Catch2, Python/numpy/matplotlib and PyTorch (CPU) for the tests
#   launch/install-deps.sh bench   the same as test (the benchmarks need PyTorch and matplotlib)
# Runs `apt-get update` once and `apt-get install -y` for what is missing; uses sudo when
# not root. Installs nothing when everything is present.
set -euo pipefail
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  # The comment block at the top of this file is the usage text.
  sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"
  exit 0
fi

build_pkgs=(g++ cmake ninja-build pkg-config libopenmpi-dev openmpi-bin libopenblas-dev
            libcli11-dev nlohmann-json3-dev zlib1g-dev dataset-fashion-mnist)
test_pkgs=(catch2 python3 python3-numpy python3-matplotlib python3-torch)
bench_pkgs=(python3-torch python3-matplotlib)

wanted=()
for what in "${@:-build}"; do
  case "$what" in
    build) wanted+=("${build_pkgs[@]}") ;;
    test) wanted+=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
    bench) wanted+=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
    *) echo "install-deps.sh: unknown set '$what' (expected build, test or bench)" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in $(printf '%s\n' "${wanted[@]}" | sort -u); do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all packages present"
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "install-deps: missing packages (${missing[*]}) and no apt-get: install them by hand" >&2
  exit 1
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
