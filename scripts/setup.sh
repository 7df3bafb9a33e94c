#!/usr/bin/env bash
# Installs what building and testing kmid needs on a fresh Debian machine with a Rust toolchain.
# Idempotent: it installs nothing that is already there.
set -euo pipefail

need_apt=()
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
# OpenSSL headers: openssl-sys (the default crypto provider) links the system library. The
# aws-lc provider builds aws-lc from source with the C compiler alone (aws-lc-sys's cc builder).
if ! pkg-config --exists openssl 2>/dev/null; then need_apt+=(libssl-dev); fi
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
# The interop tests run the Python peers in a virtualenv.
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then need_apt+=(python3-venv); fi

if ((${#need_apt[@]})); then
  echo "setup: installing ${need_apt[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
    rustup component add "$component"
  fi
done
