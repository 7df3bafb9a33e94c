#!/usr/bin/env bash
# The test command of README.md: the whole suite (unit, API, property, interop and doc tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The independent implementations the interop tests run against (a virtualenv from PyPI).
KMID_INTEROP_PYTHON="$(bash interop/setup.sh)"
export KMID_INTEROP_PYTHON
cargo test --workspace --locked
# The examples assert what they show; run them.
cargo run -q --locked -p kmid --example convenience_store > /dev/null
cargo run -q --locked -p kmid --example bank_counter > /dev/null
