#!/usr/bin/env bash
# Installs what memberflow needs to build, from Debian's packages and PyPI only.
# Safe to run again: apt-get and pip skip what is already there.
set -euo pipefail
export PIP_ROOT_USER_ACTION=ignore

debian_packages=(
  g++                  # C++20 compiler
  libboost-graph-dev   # Boost.Graph: the organisation graph (header-only part)
  libeigen3-dev        # Eigen: per-unit state arrays, the absorbing-chain solves
  nlohmann-json3-dev   # JSON reading and writing of organisations
  libcsv-dev           # libcsv: RFC 4180 CSV parsing with quoted fields
  librandom123-dev     # Random123: counter-based Philox generator (synthetic data)
  libxxhash-dev        # xxHash (XXH3, header-only use): the checksum of simulation tallies
  catch2               # Catch2 (v2 on Debian 12, v3 on Debian 13): C++ tests
  libbenchmark-dev     # Google Benchmark: C++ benchmarks
  clang                # libFuzzer (with its runtime, libclang-rt) for the loaders' fuzz target
)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "memberflow: installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Build tools for the C++ tests (the Python build gets its own through pyproject.toml).
python3 -m pip install -q --disable-pip-version-check "cmake>=3.20" ninja
