#!/usr/bin/env bash
# Installs, only when missing, every tool Coffer's build needs on a fresh Debian 12 machine
# (run as root). Sourced by scripts/serve.sh, scripts/build.sh, scripts/bench.sh and
# scripts/test.sh; safe to run again. With COFFER_TOOLS_LATER=1 it sets everything up but leaves
# the site's tools (cargo-leptos, wasm-bindgen, wasm-opt) to `ensure_site_tools`: the test
# command builds them beside the tests that do not need them.
#
# Versions that build together on this toolchain: cargo-leptos 0.3.10 (0.3.11 needs a newer rustc),
# wasm-bindgen-cli equal to the wasm-bindgen pinned in Cargo.lock, wasm-opt from the npm
# `binaryen` package (Debian's binaryen breaks hydration). cargo-leptos must never download
# these itself: GitHub is not reachable.
set -euo pipefail

COFFER_CACHE="${COFFER_CACHE:-/var/cache/coffer}"
export COFFER_CACHE
mkdir -p "$COFFER_CACHE"

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130
BINARYEN_VERSION=132.0.0

TOOLS_ROOT="$COFFER_CACHE/tools"
NODE_TOOLS="$COFFER_CACHE/node-tools"
export PATH="$TOOLS_ROOT/bin:$NODE_TOOLS/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# Build artefacts live outside the clone so a second run on the same machine is warm.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$COFFER_CACHE/target}"

log() { printf '\033[1;34m[ensure-tools]\033[0m %s\n' "$*" >&2; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# Whether any of the site's tools is missing (or of another version).
site_tools_missing() {
  ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION" ||
    ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION" ||
    ! command -v wasm-opt >/dev/null 2>&1 ||
    ! wasm-opt --version | grep -q "version ${BINARYEN_VERSION%%.*}"
}

# Installs the tools cargo-leptos builds the site with, each when missing. They are built in a
# target directory of their own (never locking the project's), and for the speed of building
# them, unoptimised: they run for seconds of a build, while building them is most of a cold
# run's CPU. cargo-leptos' own release profile (fat LTO, one codegen unit) took about 17 minutes
# on two cores; unoptimised, cargo-leptos builds in 6 min 9 s and wasm-bindgen-cli in 52 s
# (2 min 1 s at opt-level 1), and a site build takes about 5 s longer (wasm-bindgen on the
# debug wasm: 5.9 s against 2.3 s).
ensure_site_tools() {
  local fast_build=(CARGO_TARGET_DIR="$COFFER_CACHE/tools-target" CARGO_PROFILE_RELEASE_LTO=false
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=0)
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    log "installing cargo-leptos $CARGO_LEPTOS_VERSION"
    env "${fast_build[@]}" cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked \
      --root "$TOOLS_ROOT"
  fi
  if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
    log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
    # Without --locked: with it, a webpki-roots pin fails to build.
    env "${fast_build[@]}" cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" \
      --root "$TOOLS_ROOT"
  fi
  if ! command -v wasm-opt >/dev/null 2>&1 || ! wasm-opt --version | grep -q "version ${BINARYEN_VERSION%%.*}"; then
    log "installing wasm-opt (npm binaryen@$BINARYEN_VERSION)"
    mkdir -p "$NODE_TOOLS"
    npm install --prefix "$NODE_TOOLS" --no-audit --no-fund "binaryen@$BINARYEN_VERSION" >/dev/null
  fi
}

if [ -z "${COFFER_TOOLS_LATER:-}" ]; then
  ensure_site_tools
fi
