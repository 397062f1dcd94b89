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

python3 -m pip install -q --disable-pip-version-check ".[test]"
python3 -m pytest
