#!/usr/bin/env bash
# Builds Coffer (release) and serves it on its embedded default: SQLite and blobs in ./data,
# http://127.0.0.1:3000. Installs the build tools first when missing. Run from the repo root.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-tools.sh
scripts/build.sh
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
exec "$CARGO_TARGET_DIR/release/coffer" "$@"
