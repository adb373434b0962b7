# Shared by scripts/run and scripts/test: install what is missing, configure, build.
# shellcheck shell=bash

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Debian packages every build needs; scripts add their own extras.
base_packages=(g++ cmake ninja-build ccache pkg-config libssl-dev nlohmann-json3-dev
  libboost1.81-dev libboost-program-options1.81-dev libhiredis-dev libsqlite3-dev libcrypt-dev libmariadb-dev)

log() { printf '\n==> %s\n' "$*"; }

# ensure_packages PKG...: apt-get installs only the packages not yet installed (update once).
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Node.js may come from elsewhere than Debian (it does on these machines); install only if absent.
ensure_node() {
  command -v node >/dev/null && command -v npm >/dev/null && return 0
  ensure_packages nodejs npm
}

# configure_and_build DIR [cmake args...]: configures DIR and builds every target, or only
# BUILD_TARGET when that is set.
configure_and_build() {
  local dir=$1
  shift
  cmake -S "$repo_root" -B "$dir" -G Ninja "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" --parallel "$(nproc)" ${BUILD_TARGET:+--target "$BUILD_TARGET"}
}
