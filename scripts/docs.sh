#!/usr/bin/env bash
# Builds the documentation site (docs/ -> build/docs/, or the directory given) with
# warnings as errors: the user guide, the command-line reference generated from the
# argparse parser and the API reference from the installed package's docstrings.
# Needs the package and its docs extra: python3 -m pip install ".[docs]".
# The test run builds the same site (tests/python/test_docs.py).
set -euo pipefail
out=${1:+$(realpath -m "$1")}   # a directory given is relative to where the command was run
cd "$(dirname "$0")/.."
out=${out:-build/docs}
if ! python3 -c "import memberflow, sphinx, myst_parser, sphinxarg, matplotlib" 2>/dev/null; then
  echo "memberflow docs: needs the memberflow package and Sphinx; install them with: python3 -m pip install \".[docs]\"" >&2
  exit 2
fi
python3 -m sphinx -W --keep-going -b html docs "$out"
echo "memberflow docs: open $out/index.html"
