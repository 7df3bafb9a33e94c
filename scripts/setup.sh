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
# The OpenID4VP interop tests run the npm peers with node.
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
# The PostgreSQL stores are tested against a real server (a throwaway cluster, scripts/pg.sh).
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need_apt+=(postgresql)
# The relying party's page is tested in a real headless browser: Debian's Chromium.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# ... and a Korean font for it, so its screenshots show the names rather than empty boxes.
[ -d /usr/share/fonts/truetype/nanum ] || need_apt+=(fonts-nanum)

if ((${#need_apt[@]})); then
  if [ "$(id -u)" -eq 0 ]; then
    sudo=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo"
  else
    echo "setup: missing ${need_apt[*]}; as root, run: apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${need_apt[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# rustfmt and clippy: from rustup when Rust came with it; a toolchain installed otherwise (a
# distribution's packages) must bring them itself.
for component in rustfmt clippy; do
  cmd="cargo-${component/rustfmt/fmt}"
  [ "$component" = clippy ] && cmd="cargo-clippy"
  if command -v rustup >/dev/null 2>&1; then
    if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
      rustup component add "$component"
    fi
  elif ! command -v "$cmd" >/dev/null 2>&1; then
    echo "setup: no rustup and no $cmd: install $component with your Rust toolchain" >&2
    exit 1
  fi
done
