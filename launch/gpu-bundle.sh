#!/usr/bin/env bash
# Gathers what an offline GPU machine lacks into .deps/ (ignored by git), on the Debian 12
# development machine, BEFORE going to the GPU machine (docs/gpu-validation.md):
#   .deps/debs/                 the .deb files of the procedure in docs/gpu-validation.md:
#                               Open MPI, Catch2, OpenBLAS, CLI11, nlohmann-json (+ zlib headers),
#                               downloaded with `apt-get download` (nothing is installed here)
#   .deps/data/fashion-mnist/   the four Fashion-MNIST IDX .gz files (dataset-fashion-mnist)
# tests/gpu-check.sh extracts the .debs there and finds the data set there.
#   launch/gpu-bundle.sh [--refresh] [--no-data] [--dest DIR]
# Idempotent: a package whose .deb is already in .deps/debs is not downloaded again
# (--refresh: download everything again). Prints the total size and what to carry.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "gpu-bundle.sh: error: $*" >&2; exit 2; }

# The packages of the verified recipe (gpu-machine.md section 1), plus zlib1g-dev: dptrain's
# CMake needs zlib.h (find_package(ZLIB)), which a CUDA image does not always have.
packages=(openmpi-bin openmpi-common libopenmpi3 libopenmpi-dev libpmix2 libhwloc15
          libevent-core-2.1-7 libevent-pthreads-2.1-7 libfabric1 libibverbs1 ibverbs-providers
          librdmacm1 libucx0 libpsm-infinipath1 libpsm2-2 libmunge2 libnl-3-200
          libnl-route-3-200 libnuma1 catch2 libopenblas0-pthread libopenblas-pthread-dev
          libopenblas-dev libopenblas0 libcli11-dev nlohmann-json3-dev libgfortran5
          zlib1g-dev)
data_files=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz
            t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
limit_mib=64     # the bundle travels with the working tree: keep the copy small
warn_mib=56      # "well under": leave room for the repository itself

refresh=0 with_data=1 dest="$root/.deps"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --refresh) refresh=1; shift ;;
    --no-data) with_data=0; shift ;;
    --dest) [[ $# -ge 2 ]] || die "--dest needs a directory"; dest=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

command -v apt-get >/dev/null || die "apt-get not found: run this on the Debian development machine"
arch=$(dpkg --print-architecture 2>/dev/null || echo unknown)
[[ $arch == amd64 ]] ||
  die "this machine is '$arch'; the GPU machine is x86-64 (amd64): run this on an amd64 Debian 12 machine"
# shellcheck disable=SC1091
. /etc/os-release 2>/dev/null || true
if [[ ${ID:-} != debian || ${VERSION_ID:-} != 12 ]]; then
  echo "gpu-bundle.sh: warning: the recipe was verified with Debian 12 packages; this is ${PRETTY_NAME:-unknown}" >&2
fi

debs="$dest/debs"
mkdir -p "$debs"
# .deps/ must stay out of git (it is carried explicitly, never committed).
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1 && [[ $dest == "$root/.deps" ]]; then
  git -C "$root" check-ignore -q "$dest/debs/x.deb" ||
    echo "gpu-bundle.sh: warning: $dest is not ignored by git: add '/.deps/' to .gitignore" >&2
fi

# ---------------------------------------------------------------- the .deb files
(( refresh )) && rm -f "$debs"/*.deb
missing=()
for p in "${packages[@]}"; do
  compgen -G "$debs/${p}_*.deb" >/dev/null || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "gpu-bundle.sh: downloading ${#missing[@]} package(s): ${missing[*]}"
  # apt-get download needs the package lists; update them once if a package is unknown.
  if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
      command -v sudo >/dev/null || die "the package lists lack ${missing[*]} and updating them needs root or sudo"
      sudo=(sudo)
    fi
    echo "gpu-bundle.sh: apt-get update (the package lists do not know every package)"
    "${sudo[@]}" apt-get update -qq
  fi
  # apt-get download writes into the current directory; as root it warns that the _apt
  # sandbox user cannot write there, which is harmless.
  (cd "$debs" && apt-get download -q "${missing[@]}") ||
    die "apt-get download failed (network? package names?); what was fetched stays in $debs"
else
  echo "gpu-bundle.sh: all ${#packages[@]} .deb files already in $debs"
fi
for p in "${packages[@]}"; do
  compgen -G "$debs/${p}_*.deb" >/dev/null || die "no .deb for $p in $debs after downloading"
  n=$(compgen -G "$debs/${p}_*.deb" | wc -l)
  (( n == 1 )) || echo "gpu-bundle.sh: warning: $n versions of $p in $debs (all would be extracted; --refresh cleans up)" >&2
done

# ---------------------------------------------------------------- the data set
if (( with_data )); then
  src=""
  if command -v dpkg >/dev/null && dpkg -L dataset-fashion-mnist >/dev/null 2>&1; then
    src=$(dpkg -L dataset-fashion-mnist | grep -m1 '/train-images-idx3-ubyte.gz$' | xargs -r dirname)
  fi
  : "${src:=/usr/share/datasets/fashion-mnist}"
  for f in "${data_files[@]}"; do
    [[ -f "$src/$f" ]] || die "$src/$f not found: install the data set (launch/install-deps.sh build, or apt-get install dataset-fashion-mnist), or pass --no-data"
  done
  out_data="$dest/data/fashion-mnist"
  mkdir -p "$out_data"
  copied=0
  for f in "${data_files[@]}"; do
    if [[ -f "$out_data/$f" ]] && cmp -s "$src/$f" "$out_data/$f"; then continue; fi
    cp "$src/$f" "$out_data/$f.tmp" && mv "$out_data/$f.tmp" "$out_data/$f"
    copied=$((copied + 1))
  done
  echo "gpu-bundle.sh: Fashion-MNIST from $src in $out_data ($copied file(s) copied, $(( ${#data_files[@]} - copied )) already there)"
fi

# ---------------------------------------------------------------- sizes
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
deb_bytes=$(du -cb "$debs"/*.deb | tail -1 | cut -f1)
data_bytes=0
[[ -d "$dest/data" ]] && data_bytes=$(du -sb "$dest/data" | cut -f1)
# Everything under DEST travels when it is carried, not only debs/ and data/.
bundle_bytes=$(du -sb "$dest" | cut -f1)
other_bytes=$((bundle_bytes - deb_bytes - data_bytes))
if (( other_bytes > 1048576 )); then
  echo "gpu-bundle.sh: warning: $dest holds $(mib "$other_bytes") MiB besides debs/ and data/ (an extracted prefix?);" \
       "it would travel too: remove it" >&2
fi
tree_bytes=0
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  # What travels besides the carried paths: tracked files and untracked, not ignored ones.
  tree_bytes=$( { git -C "$root" ls-files -z; git -C "$root" ls-files -z --others --exclude-standard; } |
                (cd "$root" && xargs -0 -r stat -c %s -- 2>/dev/null) | awk '{ s += $1 } END { print s + 0 }')
fi
total=$((bundle_bytes + tree_bytes))
echo
echo "gpu-bundle.sh: $(compgen -G "$debs/*.deb" | wc -l) .deb files $(mib "$deb_bytes") MiB, data $(mib "$data_bytes") MiB," \
     "bundle $(mib "$bundle_bytes") MiB; with the working tree ($(mib "$tree_bytes") MiB): $(mib "$total") MiB of $limit_mib MiB"
if (( total > limit_mib * 1048576 )); then
  die "the bundle and the working tree exceed $limit_mib MiB: use --no-data (gpu_step.py then uses synthetic data, but the accuracy steps need the data set) or trim .deps"
elif (( total > warn_mib * 1048576 )); then
  echo "gpu-bundle.sh: warning: over $warn_mib MiB, close to the $limit_mib MiB limit" >&2
fi

rel=${dest#"$root"/}
cat <<EOF

Carry to the GPU machine: the repository working tree AND the ignored folder '$rel'
(everything in it: debs/ and data/). Then, there:

    tests/gpu-check.sh            # or: tests/gpu-check.sh --quick
EOF
