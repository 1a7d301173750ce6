#!/usr/bin/env bash
# Fuzzes the REST API with Schemathesis (PyPI), the OpenAPI fuzzer: starts a Coffer on SQLite
# in a temporary data dir, registers users, and runs every check on every operation of the
# served /api/v1/openapi.json (all phases), failing on any failure. Per-operation exceptions (with why) are
# in schemathesis.toml.
#
#   scripts/fuzz-api.sh [--max-examples N]     (default 300 per operation)
#
# Needs the debug binary ($CARGO_TARGET_DIR/debug/coffer, built by `cargo test --features ssr`
# or `cargo build --features ssr`); installs Schemathesis into $COFFER_CACHE/venv when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
COFFER_CACHE="${COFFER_CACHE:-/var/cache/coffer}"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$COFFER_CACHE/target}"
EXAMPLES=300
[ "${1:-}" = "--max-examples" ] && EXAMPLES=$2
SCHEMATHESIS_VERSION=4.32.5
VENV="$COFFER_CACHE/venv"
log() { printf '\033[1;34m[fuzz]\033[0m %s\n' "$*" >&2; }

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  log "installing schemathesis $SCHEMATHESIS_VERSION"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi
BIN="$CARGO_TARGET_DIR/debug/coffer"
[ -x "$BIN" ] || { echo "build the server first: cargo build --features ssr" >&2; exit 2; }

WORK=$(mktemp -d)
PORT=3418
BASE="http://127.0.0.1:$PORT"
# Limits off: the fuzzer would otherwise spend its examples on 429s (which stay documented).
COFFER_DATA_DIR="$WORK/data" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" COFFER_PUBLIC_URL="$BASE" \
  COFFER_CONFIG="$WORK/none.toml" COFFER_RATE_LOGIN_PER_MIN=0 COFFER_RATE_UPLOAD_PER_MIN=0 \
  COFFER_RATE_DOWNLOAD_PER_MIN=0 COFFER_RATE_REGISTER_PER_HOUR=0 COFFER_RATE_REQUESTS_PER_SEC=0 RUST_LOG=${FUZZ_LOG:-warn} \
  "$BIN" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "$BASE/health" >/dev/null && break; sleep 0.2; done

token_for() {
  local name=$1
  curl -sf -o /dev/null -H 'content-type: application/json' \
    -d "{\"email\":\"$name@example.org\",\"username\":\"$name\",\"password\":\"fuzz-password-1\"}" \
    "$BASE/api/v1/auth/register"
  curl -sf -H 'content-type: application/json' \
    -d "{\"email\":\"$name@example.org\",\"password\":\"fuzz-password-1\"}" \
    "$BASE/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
MAIN_TOKEN=$(token_for fuzzer)
# Two-factor changes and logging out end the caller's other tokens or its own: a user each.
TWO_FACTOR_TOKEN=$(token_for twofactorfuzzer)
LOGOUT_TOKEN=$(token_for logoutfuzzer)
# Changing, resetting and deleting users can end any admin's tokens (once the fuzzer has made a
# registered user admin, the fuzzer itself is no longer the last one): an admin of its own, run
# last.
USERS_TOKEN=$(token_for usersfuzzer)
USERS_ID=$(curl -sf -H "Authorization: Bearer $USERS_TOKEN" "$BASE/api/v1/auth/me" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -sf -o /dev/null -X PATCH -H "Authorization: Bearer $MAIN_TOKEN" -H 'content-type: application/json' \
  -d '{"role":"admin"}' "$BASE/api/v1/admin/users/$USERS_ID"

# Every phase; the stateful one only where the selected operations link to each other.
run() {
  local token=$1 phases=$2; shift 2
  PYTHONPATH=scripts SCHEMATHESIS_HOOKS=schemathesis_hooks \
  "$VENV/bin/schemathesis" --config-file schemathesis.toml run "$BASE/api/v1/openapi.json" \
    -H "Authorization: Bearer $token" --max-examples "$EXAMPLES" --workers 2 \
    --phases "$phases" "$@"
}
ALL=examples,coverage,fuzzing,stateful
UNLINKED=examples,coverage,fuzzing
# The main user is the first, so an admin, but its run leaves changes to users out: it runs
# beside the 2FA and logout runs (each a process of its own, so that they use both cores), each
# into a log printed when it ends. Changes to users may disable or demote any account: that run
# comes last, alone.
status=0
runs=()
side_by_side() { # NAME TOKEN PHASES ARGS…: one run in the background, into $WORK/NAME.log
  local name=$1; shift
  ( if run "$@" >"$WORK/$name.log" 2>&1; then echo 0; else echo 1; fi >"$WORK/$name.status" ) &
  runs+=($!)
}
log "2FA and logout (each as a user of its own) and all other operations, side by side ($EXAMPLES examples each)"
side_by_side 2fa "$TWO_FACTOR_TOKEN" $UNLINKED --include-path-regex '/auth/2fa/'
side_by_side logout "$LOGOUT_TOKEN" $UNLINKED --include-path-regex '/auth/logout'
side_by_side others "$MAIN_TOKEN" $ALL --exclude-path-regex '/auth/(logout|2fa/)|/admin/users/\{'
wait "${runs[@]}"
for name in 2fa logout others; do
  log "$name"
  cat "$WORK/$name.log"
  [ "$(cat "$WORK/$name.status")" = 0 ] || status=1
done
log "changes to users, as an admin of its own"
run "$USERS_TOKEN" $ALL --include-path-regex '/admin/users|/auth/me$' || status=1
if [ $status -eq 0 ]; then
  rm -rf "$WORK"
else
  log "failures above; the server's log is kept in $WORK/server.log"
  tail -20 "$WORK/server.log"
fi
exit $status
