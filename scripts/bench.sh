#!/usr/bin/env bash
# vmauth's performance table (issue 9), measured in one run on this machine:
#   - wall time of the cached `vmauth token` (file store) as a ratio to `cat` of the same
#     credentials file and to `/bin/true`, side by side in 5 alternating hyperfine rounds per
#     data set (one login; 1000 logins), and `gh auth token` when gh is installed;
#   - `status --all` with 100 and 1000 logins;
#   - exact instruction counts (valgrind --tool=callgrind) when valgrind is installed;
#   - what one call opens (strace): state.json and the credentials file for `status --json`,
#     and the system trust store during a refresh against an http:// loopback issuer;
#   - HTTP requests of a refresh and of a logout, from the test IdP's access log
#     (tests/idp/dev-idp.sh on a free port; needs node and npm).
#
#   scripts/bench.sh                       # release build of this checkout
#   scripts/bench.sh /tmp/vmauth-before    # ... and the same table for that binary, side by side
#   BENCH_QUICK=1 scripts/bench.sh         # fewer runs (a smoke test of the script itself)
#
# Needs hyperfine and python3; valgrind, strace and gh are optional (rows say "n/a"). The
# raw hyperfine and callgrind output goes to target/bench/. Speed goals live here, never in
# timed tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
die() { echo "bench.sh: error: $*" >&2; exit 1; }
command -v hyperfine >/dev/null || die "install hyperfine (Debian: apt-get install hyperfine)"
command -v python3 >/dev/null || die "install python3"
baseline=${1:-}
if [ -n "$baseline" ]; then
  [ -x "$baseline" ] || die "$baseline is not an executable"
  baseline=$(cd "$(dirname "$baseline")" && pwd)/$(basename "$baseline")
fi
quick=${BENCH_QUICK:-0}
runs=1000 slow_runs=20
[ "$quick" = 1 ] && runs=30 slow_runs=3

cargo build --release --locked --quiet
bin=$root/target/release/vmauth
out=$root/target/bench
mkdir -p "$out"
work=$(mktemp -d)
idp_port=""
cleanup() {
  [ -z "$idp_port" ] || IDP_PORT=$idp_port tests/idp/dev-idp.sh stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# Both binaries run from copies side by side in one fresh directory: where a
# file sits matters (the same bytes ran 12 % slower from target/release, a
# file cargo hard-links, than from a copy in /tmp).
mkdir -p "$work/new" "$work/baseline"
cp "$bin" "$work/new/vmauth" && bin=$work/new/vmauth
if [ -n "$baseline" ]; then cp "$baseline" "$work/baseline/vmauth" && baseline=$work/baseline/vmauth; fi

bins=("$bin")
[ -z "$baseline" ] || bins+=("$baseline")
label() { if [ "$1" = "$bin" ]; then echo new; else echo baseline; fi; }

# Data sets: N realistic logins (JWT-sized tokens, valid for years); the login served is the
# middle one, and it is the current login.
make_set() { # DIR N
  mkdir -p "$1/config"
  python3 - "$1" "$2" <<'PY'
import json, sys, base64
d, n = sys.argv[1], int(sys.argv[2])
b = lambda k: base64.urlsafe_b64encode(b"x" * k).decode().rstrip("=")
creds = {}
for i in range(n):
    iss = f"https://idp{i:04d}.example.com"
    creds[f"{iss}|vmauth-cli"] = {
        "issuer": iss, "client_id": "vmauth-cli",
        "access_token": f"{b(30)}.{b(600)}.{b(256)}", "refresh_token": b(43),
        "id_token": f"{b(30)}.{b(500)}.{b(256)}", "expires_at": "2999-01-01T00:00:00Z",
        "issued_at": "2026-01-01T00:00:00Z",
        "scope": "openid profile email offline_access", "token_type": "Bearer"}
json.dump({"version": 1, "credentials": creds}, open(f"{d}/credentials.json", "w"), indent=2)
current = f"https://idp{n // 2:04d}.example.com|vmauth-cli"
json.dump({"current": current}, open(f"{d}/config/state.json", "w"))
PY
  chmod 700 "$1" "$1/config"
  chmod 600 "$1/credentials.json"
}
use_set() { export VMAUTH_CREDENTIALS_FILE=$1/credentials.json VMAUTH_CONFIG_DIR=$1/config VMAUTH_STORE=file; }
for n in 1 100 1000; do make_set "$work/set$n" "$n"; done

# gh reads its token from its own config file, as vmauth does.
gh_cmd=()
if command -v gh >/dev/null; then
  export GH_CONFIG_DIR=$work/gh
  mkdir -p "$GH_CONFIG_DIR"
  printf 'github.com:\n    user: bench\n    oauth_token: gho_%s\n    git_protocol: https\n' \
    "$(printf 'x%.0s' $(seq 36))" >"$GH_CONFIG_DIR/hosts.yml"
  chmod 600 "$GH_CONFIG_DIR/hosts.yml"
  unset GH_TOKEN GITHUB_TOKEN GH_ENTERPRISE_TOKEN
  gh auth token >/dev/null 2>&1 && gh_cmd=(gh auth token)
fi

# hyperfine: medians (ms) by command name, over the JSON exports of all rounds.
median() { # JSON-PREFIX NAME
  python3 -c 'import glob,json,sys,statistics
t=[v for f in sorted(glob.glob(sys.argv[1] + ".*")) for x in json.load(open(f))["results"] if x["command"] == sys.argv[2] for v in x["times"]]
print("%.3f" % (statistics.median(t) * 1000))' "$1" "$2"
}
# RUNS runs of each command, in 5 rounds that take turns, so that a machine
# that gets busier or quieter during the run weighs on every command alike.
hf() { # JSON-PREFIX RUNS CMD...
  local json=$1 n=$2 round; shift 2
  for round in 1 2 3 4 5; do
    hyperfine -N --warmup "$(( n < 50 ? 2 : 10 ))" --runs "$(( (n + 4) / 5 ))" --style basic \
      --export-json "$json.$round" "$@" >>"$out/hyperfine.txt" 2>&1 ||
      die "hyperfine failed; see $out/hyperfine.txt"
  done
}
: >"$out/hyperfine.txt"

declare -A T I
for n in 1 1000; do
  use_set "$work/set$n"
  cmds=(-n true /bin/true -n cat "cat $VMAUTH_CREDENTIALS_FILE")
  for b in "${bins[@]}"; do
    "$b" token >/dev/null || die "$b token failed on the $n-login set"
    cmds+=(-n "$(label "$b")" "$b token")
  done
  [ "$n" != 1 ] || [ ${#gh_cmd[@]} = 0 ] || cmds+=(-n gh "${gh_cmd[*]}")
  hf "$work/token$n.json" "$runs" "${cmds[@]}"
  for c in true cat new baseline gh; do
    T[$n,$c]=$(median "$work/token$n.json" "$c" 2>/dev/null || echo "")
  done
done
for n in 100 1000; do
  use_set "$work/set$n"
  cmds=()
  for b in "${bins[@]}"; do cmds+=(-n "$(label "$b")" "$b status --all"); done
  r=$runs; [ "$n" = 1000 ] && r=$(( runs / 10 ))
  [ -z "$baseline" ] || r=$slow_runs
  hf "$work/status$n.json" "$r" "${cmds[@]}"
  for c in new baseline; do T[status$n,$c]=$(median "$work/status$n.json" "$c" 2>/dev/null || echo ""); done
done

have() { command -v "$1" >/dev/null; }
if have valgrind; then
  for n in 1 1000; do
    use_set "$work/set$n"
    for b in "${bins[@]}"; do
      valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$(label "$b").$n.out" "$b" token \
        2>"$work/cg.err" >/dev/null
      I[$n,$(label "$b")]=$(grep -o 'refs: *[0-9,]*' "$work/cg.err" | grep -o '[0-9,]*$' | tr -d ,)
    done
  done
  # Every form of the call (flags, --store, -o, --min-ttl, a profile): the most
  # instructions any of them costs.
  use_set "$work/set1"
  printf 'default_profile = "w"\n[profiles.w]\nissuer = "https://idp0000.example.com"\nclient_id = "vmauth-cli"\n' \
    >"$work/set1/config/config.toml"
  chmod 600 "$work/set1/config/config.toml"
  for b in "${bins[@]}"; do
    most=0 worst=""
    for form in "token --issuer https://idp0000.example.com --client-id vmauth-cli" "token -o json" \
      "--store file token" "token --min-ttl 30 -o header" "token --profile w"; do
      # shellcheck disable=SC2086 # the form is words
      valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.forms.out" "$b" $form \
        2>"$work/cg.err" >/dev/null
      n=$(grep -o 'refs: *[0-9,]*' "$work/cg.err" | grep -o '[0-9,]*$' | tr -d ,)
      if [ "${n:-0}" -gt "$most" ]; then most=$n worst=$form; fi
    done
    I[forms,$(label "$b")]=$most
    I[worst,$(label "$b")]="vmauth $worst"
  done
  rm "$work/set1/config/config.toml"
fi
# Opens of state.json and of the credentials file by `status --json` on one login.
declare -A O
if have strace; then
  use_set "$work/set1"
  for b in "${bins[@]}"; do
    strace -f -qq -e trace=openat,open -o "$work/trace" "$b" status --json >/dev/null
    O[$(label "$b")]="$(grep -c 'state\.json"' "$work/trace" || true) / $(grep -c 'credentials\.json"' "$work/trace" || true)"
  done
fi

# The test IdP: requests of a refresh and of a logout, trust-store files of a refresh.
declare -A R
idp_rows=0
if have node && have npm; then
  eval "$(IDP_PORT=0 IDP_ACCESS_TOKEN_TTL=3600 tests/idp/dev-idp.sh start 2>"$work/idp.err")" ||
    die "the test IdP did not start: $(cat "$work/idp.err")"
  idp_port=${IDP_ISSUER##*:}; idp_port=${idp_port%%/*}
  lines() { wc -l <"$IDP_LOG"; }
  wait_for() { # PID FILE REGEX: the first match in FILE (spaces dropped), polled up to 30 s
    local found=""
    for _ in $(seq 300); do
      found=$(grep -oE "$3" "$2" | head -1 | tr -d ' ' || true)
      [ -n "$found" ] && break
      kill -0 "$1" 2>/dev/null || break
      sleep 0.1
    done
    printf '%s' "$found"
  }
  requests_of() { # FROM-LINE: the access-log lines (requests) since then
    tail -n +"$(( $1 + 1 ))" "$IDP_LOG" | grep -cE '^(GET|POST|PUT|DELETE|HEAD|OPTIONS) ' || true
  }
  for b in "${bins[@]}"; do
    l=$(label "$b")
    d=$work/idp-$l
    mkdir -p "$d/config"; chmod 700 "$d" "$d/config"
    use_set "$d"
    "$b" login --issuer "$IDP_ISSUER" --client-id vmauth-cli --no-qr 2>"$d/login.err" &
    login_pid=$!
    code=$(wait_for "$login_pid" "$d/login.err" '^  [A-Z0-9]{4}-[A-Z0-9]{4}$')
    [ -n "$code" ] || die "$b login showed no user code: $(cat "$d/login.err")"
    node tests/idp/approve.mjs --issuer "$IDP_ISSUER" "$code" >/dev/null || die "approving $code failed"
    wait "$login_pid" || die "$b login failed: $(cat "$d/login.err")"
    from=$(lines)
    if have strace; then
      strace -f -qq -e trace=openat,open -o "$d/trace" "$b" token --force-refresh >/dev/null
      R[trust,$l]=$(grep -cE '"(/etc/ssl|/etc/pki|/usr/share/ca-certificates|/usr/lib/ssl|/usr/local/share/ca-certificates|/etc/ca-certificates)' "$d/trace" || true)
    else
      "$b" token --force-refresh >/dev/null
    fi
    R[refresh,$l]=$(requests_of "$from")
    from=$(lines)
    "$b" logout >/dev/null 2>&1
    R[logout,$l]=$(requests_of "$from")
  done
  # The browser login: from the browser's request with the code to the saved
  # login (the answer, the page without the code, the code redeemed, the ID
  # token verified, the store written), this build only; the median of 5.
  d=$work/browser
  mkdir -p "$d/config"; chmod 700 "$d" "$d/config"
  use_set "$d"
  times=()
  for _ in 1 2 3 4 5; do
    "$bin" login --browser --no-open --no-qr --issuer "$IDP_ISSUER" --client-id vmauth-cli-browser \
      </dev/null 2>"$d/login.err" &
    login_pid=$!
    url=$(wait_for "$login_pid" "$d/login.err" "^  ${IDP_ISSUER}/auth\\?.*")
    [ -n "$url" ] || die "browser login showed no address: $(cat "$d/login.err")"
    redirect=$(node tests/idp/authorize.mjs --issuer "$IDP_ISSUER" --no-follow "$url" | tail -1)
    t0=$(date +%s%N)
    curl -fsSL -o /dev/null "$redirect" || die "the listener did not answer $redirect"
    wait "$login_pid" || die "browser login failed: $(cat "$d/login.err")"
    t1=$(date +%s%N)
    times+=("$(( (t1 - t0) / 1000 ))")
  done
  R[browser,new]=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p | awk '{printf "%.1f ms", $1 / 1000}')
  idp_rows=1
fi

# The table.
python3 - "$baseline" <<PY
import sys
T = {$(for k in "${!T[@]}"; do printf '"%s": "%s", ' "$k" "${T[$k]}"; done)}
I = {$(for k in "${!I[@]}"; do printf '"%s": "%s", ' "$k" "${I[$k]}"; done)}
O = {$(for k in "${!O[@]}"; do printf '"%s": "%s", ' "$k" "${O[$k]}"; done)}
R = {$(for k in "${!R[@]}"; do printf '"%s": "%s", ' "$k" "${R[$k]}"; done)}
base = bool(sys.argv[1])
def f(k):
    v = T.get(k, "")
    return float(v) if v else None
def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "n/a"
def cell(tag):
    t1, t1000, cat, true = f(f"1,{tag}"), f(f"1000,{tag}"), f("1,cat"), f("1,true")
    i1, i1000 = I.get(f"1,{tag}"), I.get(f"1000,{tag}")
    gh = f("1,gh")
    ms = lambda x: f"{x:.2f}" if x else "n/a"
    rows = [
        f"{ratio(t1, cat)} cat, {ratio(t1, true)} true ({ms(t1)} ms vs {ms(cat)} / {ms(true)} ms)" + (f"; {int(i1)/1e6:.3f} M instr." if i1 else ""),
        ratio(gh, t1) if gh else "n/a (gh not installed)",
        R.get(f"refresh,{tag}", "n/a"),
        R.get(f"logout,{tag}", "n/a"),
        (R.get(f"trust,{tag}", "n/a") + " files") if f"trust,{tag}" in R else "n/a",
        f"{ms(t1000)} ms = {ratio(t1000, t1)} one login" + (f"; {int(i1000)/1e6:.2f} M instr. = {int(i1000)/int(i1):.2f}×" if i1 and i1000 else ""),
        " / ".join(f"{f(f'status{n},{tag}'):.1f} ms" if f(f'status{n},{tag}') else "n/a" for n in (100, 1000)),
        (O.get(tag, "n/a")),
        (f"{int(I[f'forms,{tag}'])/1e6:.3f} M instr. (most: {I[f'worst,{tag}']})" if I.get(f"forms,{tag}") else "n/a"),
        R.get(f"browser,{tag}", "n/a"),
    ]
    return rows
what = ["cached \`vmauth token --store file\` / \`cat\` / \`/bin/true\`",
        "\`gh auth token\` / \`vmauth token\`",
        "HTTP requests for a refresh",
        "HTTP requests for a logout",
        "trust-store files read by a refresh to an http:// loopback issuer",
        "cached \`token\` with 1000 logins in the file",
        "\`status --all\` with 100 / 1000 logins",
        "\`status --json\` on one login: opens of state.json / credentials file",
        "cached \`token\`, every form: flags, \`--store\`, \`-o\`, \`--min-ttl\`, a profile",
        "browser login: the browser's answer to the saved login (median of 5)"]
goal = ["≤ 1.2× cat, ≤ 0.5 M instr.", "≥ 40×", "1", "2", "0", "≤ 1.2× one login",
        "≤ 10 ms / ≤ 50 ms", "1 / 1", "≤ 0.5 M instr.", "recorded"]
new = cell("new")
cols = ["what", "goal", "this build"] + (["baseline"] if base else [])
print("| " + " | ".join(cols) + " |")
print("|" + "---|" * len(cols))
old = cell("baseline") if base else None
for i, w in enumerate(what):
    row = [w, goal[i], new[i]] + ([old[i]] if base else [])
    print("| " + " | ".join(row) + " |")
PY
echo
echo "Medians of hyperfine runs ($runs runs per command for token, in 5 alternating rounds; raw output in target/bench/hyperfine.txt)."
[ "$idp_rows" = 1 ] || echo "The IdP rows need node and npm (tests/idp)."
