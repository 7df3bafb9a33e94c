#!/usr/bin/env bash
# Installs the pinned npm peers of interop/node/package-lock.json (the @openid4vc libraries and
# @owf/mdoc) into target/interop-node (no install scripts: cbor-x then uses its JavaScript
# decoder), copies the peer scripts beside them, and prints that folder.
# Idempotent: nothing is installed again while the lockfile is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="target/interop-node"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "interop/setup-node.sh: node and npm are needed for the OpenID4VP interop tests" >&2
  exit 1
fi
mkdir -p "$dest"
# The stamp is written only after an install succeeded, so a failed one is retried.
if ! cmp -s interop/node/package-lock.json "$dest/installed.lock"; then
  rm -f "$dest/installed.lock"
  cp interop/node/package.json interop/node/package-lock.json "$dest/"
  # `npm install` over the lockfile (the versions and integrity it pins) rather than `npm ci`:
  # cbor-x's optional native helpers (@cbor-extract/*) are absent from some registries, which
  # `npm ci` takes for a lockfile out of sync.
  (cd "$dest" && npm install --ignore-scripts --no-audit --no-fund --silent >&2)
  cp interop/node/package-lock.json "$dest/installed.lock"
fi
cp interop/node/oid4vp_peer.mjs interop/node/mdoc_peer.mjs interop/node/vci_peer.mjs \
  interop/node/vci_issuer_peer.mjs interop/node/rp_page_browser.mjs "$dest/"
echo "$PWD/$dest"
