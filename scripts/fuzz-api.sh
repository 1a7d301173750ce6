#!/usr/bin/env bash
# Fuzzes the REST API with Schemathesis (PyPI), the OpenAPI fuzzer: starts two Coffers on SQLite
# in a temporary data dir (the second for changes to users), registers users, and runs every
# check on every operation of the served /api/v1/openapi.json (all phases), failing on any failure. Per-operation exceptions (with why) are
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
SERVERS=()
trap 'kill "${SERVERS[@]}" 2>/dev/null || true' EXIT
# A Coffer on SQLite in $WORK/NAME, on PORT. Limits off: the fuzzer would otherwise spend its
# examples on 429s (which stay documented).
start_server() { # NAME PORT
  local base="http://127.0.0.1:$2"
  COFFER_DATA_DIR="$WORK/$1" LEPTOS_SITE_ADDR="127.0.0.1:$2" COFFER_PUBLIC_URL="$base" \
    COFFER_CONFIG="$WORK/none.toml" COFFER_RATE_LOGIN_PER_MIN=0 COFFER_RATE_UPLOAD_PER_MIN=0 \
    COFFER_RATE_DOWNLOAD_PER_MIN=0 COFFER_RATE_REGISTER_PER_HOUR=0 COFFER_RATE_REQUESTS_PER_SEC=0 RUST_LOG=${FUZZ_LOG:-warn} \
    "$BIN" >"$WORK/$1.server.log" 2>&1 &
  SERVERS+=($!)
  for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.2; done
}
# Registers NAME on the server at BASE (its first user is an admin) and prints a token.
token_for() { # BASE NAME
  local base=$1 name=$2
  curl -sf -o /dev/null -H 'content-type: application/json' \
    -d "{\"email\":\"$name@example.org\",\"username\":\"$name\",\"password\":\"fuzz-password-1\"}" \
    "$base/api/v1/auth/register"
  curl -sf -H 'content-type: application/json' \
    -d "{\"email\":\"$name@example.org\",\"password\":\"fuzz-password-1\"}" \
    "$base/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

BASE="http://127.0.0.1:3418"
start_server main 3418
MAIN_TOKEN=$(token_for "$BASE" fuzzer)
# Two-factor changes and logging out end the caller's other tokens or its own: a user each.
TWO_FACTOR_TOKEN=$(token_for "$BASE" twofactorfuzzer)
LOGOUT_TOKEN=$(token_for "$BASE" logoutfuzzer)
# The operations on requests, uploads, shares, webhooks and accounts: a user of its own too, so
# that its files and limits are not the main user's.
REQUESTS_TOKEN=$(token_for "$BASE" requestsfuzzer)
# Changing, resetting and deleting users can disable or demote any account, the other runs'
# too: those changes run on a server of their own, by an admin that another admin (its first
# user) promoted, so that the fuzzer is not the last admin and can demote itself too.
USERS_BASE="http://127.0.0.1:3419"
start_server users 3419
BYSTANDER_TOKEN=$(token_for "$USERS_BASE" bystander)
USERS_TOKEN=$(token_for "$USERS_BASE" usersfuzzer)
USERS_ID=$(curl -sf -H "Authorization: Bearer $USERS_TOKEN" "$USERS_BASE/api/v1/auth/me" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -sf -o /dev/null -X PATCH -H "Authorization: Bearer $BYSTANDER_TOKEN" -H 'content-type: application/json' \
  -d '{"role":"admin"}' "$USERS_BASE/api/v1/admin/users/$USERS_ID"

# Every phase; the stateful one only where the selected operations link to each other. One
# worker each: the runs side by side keep both cores busy, and a second thread in one Python
# process only adds contention for its lock (about 8% more CPU time for the same examples).
run() { # BASE TOKEN PHASES ARGS…
  local base=$1 token=$2 phases=$3; shift 3
  PYTHONPATH=scripts SCHEMATHESIS_HOOKS=schemathesis_hooks \
  "$VENV/bin/schemathesis" --config-file schemathesis.toml run "$base/api/v1/openapi.json" \
    -H "Authorization: Bearer $token" --max-examples "$EXAMPLES" --workers 1 \
    --phases "$phases" "$@"
}
ALL=examples,coverage,fuzzing,stateful
UNLINKED=examples,coverage,fuzzing
# Each run is a process of its own, so that they share both cores (a run is one Python process,
# on one core however many workers it has), into a log printed when it ends. The main user is
# the first, so an admin; its operations are split in two runs of their own (files and
# administration; the rest), and a third walks the links between all of them (stateful).
status=0
runs=()
side_by_side() { # NAME BASE TOKEN PHASES ARGS…: one run in the background, into $WORK/NAME.log
  local name=$1; shift
  ( if run "$@" >"$WORK/$name.log" 2>&1; then echo 0; else echo 1; fi >"$WORK/$name.status" ) &
  runs+=($!)
}
RUNS=(2fa logout users files others links)
log "${RUNS[*]}: side by side ($EXAMPLES examples per operation)"
side_by_side 2fa "$BASE" "$TWO_FACTOR_TOKEN" $UNLINKED --include-path-regex '/auth/2fa/'
side_by_side logout "$BASE" "$LOGOUT_TOKEN" $UNLINKED --include-path-regex '/auth/logout'
side_by_side users "$USERS_BASE" "$USERS_TOKEN" $ALL --include-path-regex '/admin/users|/auth/me$'
ELSEWHERE='/auth/(logout|2fa/)|/admin/users/\{'
side_by_side files "$BASE" "$MAIN_TOKEN" $UNLINKED --include-path-regex '^/api/v1/(files|admin)' \
  --exclude-path-regex "$ELSEWHERE"
side_by_side others "$BASE" "$REQUESTS_TOKEN" $UNLINKED --exclude-path-regex "^/api/v1/(files|admin)|$ELSEWHERE"
side_by_side links "$BASE" "$MAIN_TOKEN" stateful --exclude-path-regex "$ELSEWHERE"
wait "${runs[@]}"
for name in "${RUNS[@]}"; do
  log "$name"
  cat "$WORK/$name.log"
  [ "$(cat "$WORK/$name.status")" = 0 ] || status=1
done
if [ $status -eq 0 ]; then
  rm -rf "$WORK"
else
  log "failures above; the servers' logs are kept in $WORK/main.server.log and $WORK/users.server.log"
  tail -20 "$WORK/main.server.log" "$WORK/users.server.log"
fi
exit $status
