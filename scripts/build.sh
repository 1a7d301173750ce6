#!/usr/bin/env bash
# Builds Coffer for release: the server binary ($CARGO_TARGET_DIR/release/coffer) and the site
# (target/site): wasm, script and styles named after their content, with the pages declared lazy
# in src/app/mod.rs split off the main wasm (`--split`: a route fetches its page's code when shown),
# each file with a brotli and a gzip copy made here once (the server sends the one the browser
# takes), and the build's hash file (hash.txt, which names them) copied into the site so that the
# site directory describes itself wherever it is installed. Installs the build tools first when missing. Run from the repo root.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-tools.sh
# The flag every build here uses (scripts/test.sh too): Leptos erases view types, so the server and
# the wasm compile faster, and the wasm is the size `scripts/bench.sh` reports.
export RUSTFLAGS="--cfg erase_components"
cargo leptos build --release --split --precompress
cp "$CARGO_TARGET_DIR/release/hash.txt" target/site/hash.txt
# cargo-leptos' gzip copies are made at a fast level (the wasm's is ~18% larger than gzip -9):
# remake them at the best level, once, here.
for file in target/site/pkg/*.wasm target/site/pkg/*.js target/site/pkg/*.css; do
  gzip -9 -n -c "$file" >"$file.gz"
done
