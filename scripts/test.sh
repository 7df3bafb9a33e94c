#!/usr/bin/env bash
# The test command of README.md: the whole suite (unit, API, property, interop and doc tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The independent implementations the interop tests run against (a virtualenv from PyPI).
KMID_INTEROP_PYTHON="$(bash interop/setup.sh)"
export KMID_INTEROP_PYTHON
# The OpenID4VP peer (@openid4vc/openid4vp, pinned by interop/node/package-lock.json).
KMID_INTEROP_NODE="$(bash interop/setup-node.sh)"
export KMID_INTEROP_NODE
# A throwaway PostgreSQL cluster for the PostgreSQL stores' tests, stopped on the way out.
KMID_PG_DIR="$(mktemp -d)"
trap 'bash scripts/pg.sh stop "$KMID_PG_DIR"' EXIT
KMID_POSTGRES_URL="$(bash scripts/pg.sh start "$KMID_PG_DIR")"
export KMID_POSTGRES_URL
# The browser of the relying party's page test (scripts/setup.sh installs it).
KMID_BROWSER="$(command -v chromium)"
export KMID_BROWSER
cargo test --workspace --locked
# The second crypto provider: the whole suite again on OpenSSL. The default (aws-lc-rs) graph of
# kmid has no OpenSSL (checked), and a verify-only relying party builds that way with nothing
# else, not even SQLite.
cargo test --workspace --locked --no-default-features --features openssl,sqlite
for features in "" "--no-default-features --features aws-lc"; do
  # shellcheck disable=SC2086
  tree="$(cargo tree --locked -p kmid $features)"
  if grep -q openssl <<<"$tree"; then
    echo "test: OpenSSL in the graph of kmid $features" >&2
    exit 1
  fi
done
cargo run -q --locked -p kmid --example verify_only --no-default-features --features aws-lc
cargo run -q --locked -p kmid --example verify_only --no-default-features --features openssl
# The examples assert what they show; run them.
cargo run -q --locked -p kmid --example convenience_store > /dev/null
cargo run -q --locked -p kmid --example bank_counter > /dev/null
