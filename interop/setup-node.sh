#!/usr/bin/env bash
# Installs the pinned npm peers of interop/node/package-lock.json (the @openid4vc libraries) into
# target/interop-node with `npm ci`, copies the peer script beside them, and prints that folder.
# Idempotent: nothing is installed again while the lockfile is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="target/interop-node"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "interop/setup-node.sh: node and npm are needed for the OpenID4VP interop tests" >&2
  exit 1
fi
mkdir -p "$dest"
if ! cmp -s interop/node/package-lock.json "$dest/package-lock.json" || [ ! -d "$dest/node_modules" ]; then
  cp interop/node/package.json interop/node/package-lock.json "$dest/"
  (cd "$dest" && npm ci --no-audit --no-fund --silent >&2)
fi
cp interop/node/oid4vp_peer.mjs "$dest/"
echo "$PWD/$dest"
