#!/usr/bin/env bash
# Quick start, command 1: install what is needed, build and install the memberflow
# Python package (with its compiled core), and forecast the embedded example district.
set -euo pipefail
export PIP_ROOT_USER_ACTION=ignore
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
python3 -m pip install -q --disable-pip-version-check .
memberflow forecast "$@"
