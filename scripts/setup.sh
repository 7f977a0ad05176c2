#!/usr/bin/env bash
# npm run setup: installs what webgpu-mlp needs on a fresh Debian or Ubuntu machine, then
# its npm dependencies.
#   - a Vulkan driver for Dawn in Node: without a GPU, lavapipe from mesa-vulkan-drivers
#     (Debian 12's own 22.3 build is too old for Dawn: it comes from bookworm-backports);
#   - Chromium, for the browser half of the kernel tests (it also brings SwiftShader).
# Set WEBGPU_MLP_SKIP_SYSTEM=1 to skip the system packages (e.g. a machine with a GPU
# driver and Chrome already set up).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }

system_packages() {
  if [ "${WEBGPU_MLP_SKIP_SYSTEM:-}" = 1 ]; then
    log "WEBGPU_MLP_SKIP_SYSTEM=1: skipping system packages"
    return
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    log "no apt-get: install a Vulkan driver (or use a GPU) and Chrome/Chromium yourself (see README)"
    return
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      log "not root and no sudo: cannot install system packages; see README for what is needed"
      return
    fi
  fi
  # shellcheck disable=SC1091
  . /etc/os-release
  local mesa_target=() wanted=()
  local mesa_version
  mesa_version=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  if [ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ]; then
    # Dawn rejects lavapipe 22.x ("shaderUniform*ArrayDynamicIndexing required").
    if [[ -z "$mesa_version" || "$mesa_version" == 22.* ]]; then
      if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
        log "adding bookworm-backports (for Mesa's lavapipe 25.x)"
        printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
          $sudo tee /etc/apt/sources.list.d/backports.sources >/dev/null
      fi
      mesa_target=(-t bookworm-backports)
      wanted+=(mesa-vulkan-drivers)
    fi
  elif [ -z "$mesa_version" ]; then
    wanted+=(mesa-vulkan-drivers)
  fi
  local chromium_pkg=""
  if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 &&
    [ -z "${CHROME_PATH:-}" ]; then
    if [ "${ID:-}" = debian ]; then
      chromium_pkg=chromium
    else
      log "Chromium is not installed and Ubuntu ships it only as a snap: install Chrome or Chromium" \
        "and set CHROME_PATH for the browser tests"
    fi
  fi
  if [ ${#wanted[@]} -eq 0 ] && [ -z "$chromium_pkg" ]; then
    log "system packages already present (mesa-vulkan-drivers ${mesa_version:-?}, chromium)"
    return
  fi
  export DEBIAN_FRONTEND=noninteractive
  log "apt-get update"
  $sudo apt-get update -qq
  if [ ${#wanted[@]} -gt 0 ]; then
    log "installing ${wanted[*]} ${mesa_target[*]}"
    $sudo apt-get install -y -qq --no-install-recommends "${mesa_target[@]}" "${wanted[@]}" libvulkan1 >/dev/null
  fi
  if [ -n "$chromium_pkg" ]; then
    log "installing $chromium_pkg"
    $sudo apt-get install -y -qq "$chromium_pkg" >/dev/null
  fi
}

system_packages
if [ -f package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund
else
  log "npm install"
  npm install --no-audit --no-fund
fi
log "done: try 'npm start', then 'npm test'"
