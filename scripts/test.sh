#!/usr/bin/env bash
# The test command of README.md: the whole suite (unit, API, property, interop and doc tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The independent implementations the interop tests run against (a virtualenv from PyPI).
KMID_INTEROP_PYTHON="$(bash interop/setup.sh)"
export KMID_INTEROP_PYTHON
cargo test --workspace --locked
# The second crypto provider: the whole suite again on aws-lc-rs, whose library graph has no
# OpenSSL (checked), then a verify-only relying party built that way.
cargo test --workspace --locked --no-default-features --features aws-lc,sqlite
aws_lc_tree="$(cargo tree --locked -p kmid --no-default-features --features aws-lc)"
if grep -q openssl <<<"$aws_lc_tree"; then
  echo "test: OpenSSL in the aws-lc graph of kmid" >&2
  exit 1
fi
cargo run -q --locked -p kmid --example verify_only --no-default-features --features aws-lc
# The examples assert what they show; run them.
cargo run -q --locked -p kmid --example convenience_store > /dev/null
cargo run -q --locked -p kmid --example bank_counter > /dev/null
cargo run -q --locked -p kmid --example verify_only > /dev/null
