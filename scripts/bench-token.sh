#!/usr/bin/env bash
# Benchmark of the cached `vmauth token` path against `cat` of the same file,
# optionally side by side with another vmauth binary (e.g. the previous commit's).
# Needs hyperfine (Debian package); valgrind, when installed, adds exact
# instruction counts (callgrind); strace, when installed, shows that the cached
# path opens no socket and reads no TLS trust store.
#   scripts/bench-token.sh                      # release build, 1000 runs each
#   scripts/bench-token.sh /tmp/vmauth-before   # also compare with that binary
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v hyperfine >/dev/null || { echo "bench-token.sh: install hyperfine (apt-get install hyperfine)" >&2; exit 1; }
baseline=${1:-}
[ -z "$baseline" ] || [ -x "$baseline" ] || { echo "bench-token.sh: $baseline is not an executable" >&2; exit 2; }
cargo build --release --locked --quiet
bin=$PWD/target/release/vmauth
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A realistic login: JWT-sized access and ID tokens, valid for years.
python3 - "$work/credentials.json" <<'PY'
import json, sys, base64
b = lambda n: base64.urlsafe_b64encode(b"x" * n).decode().rstrip("=")
key = "https://idp.example.com|vmauth-cli"
entry = {"issuer": "https://idp.example.com", "client_id": "vmauth-cli",
         "access_token": f"{b(30)}.{b(600)}.{b(256)}", "refresh_token": b(43),
         "id_token": f"{b(30)}.{b(500)}.{b(256)}", "expires_at": "2999-01-01T00:00:00Z",
         "scope": "openid profile email offline_access", "token_type": "Bearer"}
json.dump({"version": 1, "credentials": {key: entry}}, open(sys.argv[1], "w"), indent=2)
PY
chmod 600 "$work/credentials.json"
mkdir -p "$work/config"
printf '{"current":"https://idp.example.com|vmauth-cli","auto_store":"file"}' >"$work/config/state.json"
export VMAUTH_CREDENTIALS_FILE=$work/credentials.json VMAUTH_CONFIG_DIR=$work/config VMAUTH_STORE=file
"$bin" token >/dev/null
cmds=("cat $work/credentials.json" "$bin token")
[ -z "$baseline" ] || { "$baseline" token >/dev/null; cmds+=("$baseline token"); }
hyperfine -N --warmup 50 --runs 1000 "${cmds[@]}"
if command -v valgrind >/dev/null; then
  for b in "$bin" ${baseline:+"$baseline"}; do
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$b" token 2>"$work/cg.err" >/dev/null
    echo "instructions (callgrind) of one cached call of $b: $(grep -o 'refs: *[0-9,]*' "$work/cg.err" | grep -o '[0-9,]*$')"
  done
fi
if command -v strace >/dev/null; then
  strace -f -qq -e trace=socket,connect,openat -o "$work/trace" "$bin" token >/dev/null
  echo "syscalls of one cached call: $(grep -c socket "$work/trace" || true) socket, $(grep -c connect "$work/trace" || true) connect, $(grep -c ssl "$work/trace" || true) opens under /etc/ssl"
fi
