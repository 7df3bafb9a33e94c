#!/usr/bin/env bash
# cargo deny (deny.toml): licenses, duplicate crates and bans, sources; and the RustSec
# advisories where the advisory database can be fetched. Installs cargo-deny when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_DENY_VERSION=0.20.2
if ! cargo deny --version 2>/dev/null | grep -q "$CARGO_DENY_VERSION"; then
  echo "== installing cargo-deny $CARGO_DENY_VERSION"
  cargo install cargo-deny --locked --version "$CARGO_DENY_VERSION"
fi
cargo deny --locked check licenses bans sources
# The advisory database lives on GitHub. Where the machine cannot reach it (this project's
# build machines reach crates.io, PyPI, npm and Debian only), say so loudly; where it can,
# a known advisory fails the run.
if cargo deny --locked fetch db > /dev/null 2>&1; then
  cargo deny --locked check --disable-fetch advisories
else
  echo "cargo deny: advisories NOT checked: the RustSec database (github.com) is unreachable from this machine" >&2
fi
