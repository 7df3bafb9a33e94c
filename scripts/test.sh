#!/usr/bin/env bash
# The test command of README.md: the whole suite (unit, API, property and doc tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --workspace --locked
