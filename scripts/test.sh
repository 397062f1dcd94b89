#!/usr/bin/env bash
# Quick start, command 2: install what is needed, build everything from scratch and run
# every test: the Catch2 suite and the find_package consumer (through CTest), then pytest.
set -euo pipefail
export PIP_ROOT_USER_ACTION=ignore
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

build=build/cpp
rm -rf "$build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMEMBERFLOW_TESTS=ON -DMEMBERFLOW_BENCHMARKS=ON
cmake --build "$build" -j "$(nproc)"
(cd "$build" && ctest --output-on-failure)

# Every loader fuzzed for a bounded time (20 s) under AddressSanitizer and UBSan, with
# libFuzzer (clang): tests/fuzz, CONTRIBUTING.md.
fuzz=build/fuzz
rm -rf "$fuzz"
CC=clang CXX=clang++ cmake -S . -B "$fuzz" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMBERFLOW_FUZZ=ON \
  -DMEMBERFLOW_INSTALL=OFF -DMEMBERFLOW_SANITIZE=address,undefined -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link
cmake --build "$fuzz" -j "$(nproc)" --target fuzz_loaders
ctest --test-dir "$fuzz" -R "fuzz_work_corpus|fuzz_loaders_bounded" --output-on-failure

python3 -m pip install -q --disable-pip-version-check ".[test,dask,docs,plot,typing]"
python3 -m pytest
