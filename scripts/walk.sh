#!/usr/bin/env bash
# Count how often control moves between vmauth's source files in one `vmauth login`
# (device flow against the local test IdP, approved headlessly) and one cached
# `vmauth token`: the measure of issue 16 ("one protocol engine").
#
#   scripts/walk.sh [SOURCE_DIR [WALK_PY_OPTIONS]]   # default: this checkout
#   scripts/walk.sh . --no-leaves                     # a call into a leaf is not followed
#   WALK_KEEP=DIR scripts/walk.sh                     # keep both traces in DIR
#
# Measured 2026-12-06 (returns; --no-leaves first, every call in brackets):
#   ef31ae6 (before issue 16): login 168 (305), cached token 79 (133)
#   26eabfd:                   login  80 (187), cached token 30  (61)
#
# Builds SOURCE_DIR with `-Z instrument-mcount` (nightly) into /tmp/walk-target-<hash>,
# records both runs with uftrace (Debian package `uftrace`) and counts with scripts/walk.py
# (how a move is counted is described there). Needs Node.js for tests/idp.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
src=$(cd "${1:-$here}" && pwd)
target=/tmp/walk-target-$(echo "$src" | md5sum | cut -c1-8)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$src" && RUSTFLAGS="-Z instrument-mcount -g" CARGO_TARGET_DIR=$target \
  cargo +nightly build --quiet --bin vmauth)
bin=$target/debug/vmauth
eval "$(IDP_PORT=0 "$here/tests/idp/dev-idp.sh" start)"
trap 'IDP_PORT=0 "$here/tests/idp/dev-idp.sh" stop >/dev/null; rm -rf "$work"' EXIT
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config VMAUTH_STORE=file
mkdir -p "$HOME"
uftrace record --srcline -d "$work/login" "$bin" login --issuer "$IDP_ISSUER" \
  --client-id vmauth-cli --no-qr 2>"$work/login.err" >/dev/null &
rec=$!
deadline=$((SECONDS + 60))
until code=$(grep -o 'user_code=[A-Z-]*' "$work/login.err" | cut -d= -f2) && [ -n "$code" ]; do
  [ $SECONDS -lt $deadline ] || { cat "$work/login.err" >&2; exit 1; }
  sleep 0.1
done
node "$here/tests/idp/approve.mjs" --issuer "$IDP_ISSUER" "$code" >/dev/null
wait $rec
uftrace record --srcline -d "$work/token" "$bin" token >/dev/null
[ -n "${WALK_KEEP:-}" ] && cp -r "$work/login" "$work/token" "$WALK_KEEP"/
for run in login token; do
  printf '%-6s ' "$run"
  uftrace replay --srcline -d "$work/$run" 2>/dev/null | python3 "$here/scripts/walk.py" --root="$src" "${@:2}"
done
