#!/usr/bin/env bash
# Creates the throwaway virtualenv of the independent implementations kmid is tested against
# and prints the path of its python. Pinned versions, from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${KMID_INTEROP_VENV:-target/interop-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r interop/requirements.txt >&2
echo "$(cd "$venv" && pwd)/bin/python"
