#!/usr/bin/env bash
# Run vmauth's test OpenID Provider (server.mjs) in the background, for humans and the README
# quick start. Tests do not use this script: they start their own instance on an ephemeral
# port through tests/support/idp.rs.
#
#   tests/idp/dev-idp.sh start     # npm ci if needed, start in the background, wait until
#                                  # discovery answers, print IDP_ISSUER=... IDP_PLATFORM=...
#                                  # IDP_PID=... IDP_LOG=... (IDP_PLATFORM: the CI-platform stub)
#   eval "$(tests/idp/dev-idp.sh start)"   # same, and set those variables in your shell
#   tests/idp/dev-idp.sh status    # is it running? (prints the same variables)
#   tests/idp/dev-idp.sh stop      # stop it (SIGTERM, then SIGKILL after 5 s)
#   IDP_PORT=9191 IDP_DEVICE_CODE_TTL=5 tests/idp/dev-idp.sh start   # another instance/settings
#
# Instances and ports:
# - Without IDP_PORT, start/status/stop act on the "default" instance. start tries port 9090
#   and, if that port is taken, lets the server pick a free port; the issuer it prints carries
#   the port. Its files are tests/idp/idp-default.log and idp-default.pid whatever the port, so
#   a plain `dev-idp.sh stop` always finds it. (status/stop/start without IDP_PORT also accept
#   an instance started with IDP_PORT=9090.)
# - With IDP_PORT=N, they act on the instance on port N: files tests/idp/idp-N.log / idp-N.pid
#   (or the default instance, if that one is the one listening on N). If port N is taken,
#   start fails. IDP_PORT=0 means "any free port"; stop that one with IDP_PORT=0 too.
# The .log/.pid files are git-ignored. A pid file whose process is gone (or is no longer
# server.mjs) is stale: it is removed, and start starts a new server.
#
# The server runs in its own session (setsid(2), via Node's `detached` spawn), with stdin from
# /dev/null: Ctrl-C in, or closing, the terminal that started it does not stop it.
#
# Every other IDP_* variable is passed to server.mjs (see README.md); IDP_EXIT_ON_STDIN_EOF is
# forced to 0. IDP_START_TIMEOUT (default 30) is how many seconds start waits for discovery.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
here=$PWD

default_port=9090
start_timeout=${IDP_START_TIMEOUT:-30}
host=${IDP_HOST:-127.0.0.1}

die() { echo "dev-idp.sh: error: $*" >&2; exit 1; }
note() { echo "dev-idp.sh: $*" >&2; }

[[ $start_timeout =~ ^[0-9]+$ ]] ||
  die "IDP_START_TIMEOUT='$start_timeout' is not a number of seconds; set it to e.g. 60, or unset it"

if [ -n "${IDP_PORT:-}" ]; then
  { [[ $IDP_PORT =~ ^[0-9]+$ ]] && [ "$IDP_PORT" -le 65535 ]; } ||
    die "IDP_PORT='$IDP_PORT' is not a port number (0-65535); set IDP_PORT to a free port, or unset it to use $default_port or any free port"
  explicit_port=$((10#$IDP_PORT))
  name=$explicit_port
  wanted_port=$explicit_port # the port an instance we look for listens on
else
  explicit_port=
  name=default
  wanted_port=$default_port
fi

# The instance we act on: $log and $pidfile; lookup sets $pid when it runs.
set_instance() {
  name=$1
  log=$here/idp-$1.log
  pidfile=$here/idp-$1.pid
}
set_instance "$name"

# pid of a live server.mjs recorded in pid file $1, else empty; a stale pid file is removed
live_pid() {
  local file=$1 p cmd
  [ -f "$file" ] || return 0
  p=$(cat "$file" 2>/dev/null || true)
  if [[ $p =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null; then
    cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null || ps -o args= -p "$p" 2>/dev/null || true)
    if [[ $cmd == *server.mjs* ]]; then
      echo "$p"
      return 0
    fi
  fi
  rm -f "$file"
  note "removed stale pid file ${file#"$here"/} (pid ${p:-?} is not a running server.mjs)"
}

# the ready line is `IDP_READY issuer=<issuer> platform=<issuer of the CI-platform stub>`
issuer_of() { sed -n 's/^IDP_READY issuer=\([^ ]*\).*/\1/p' "$1" 2>/dev/null | head -n 1; }
platform_of() { sed -n 's/^IDP_READY .* platform=\([^ ]*\).*/\1/p' "$1" 2>/dev/null | head -n 1; }

# port in issuer $1 (http://host:port...), else empty
port_of() { [[ $1 =~ ^https?://(\[[^]]*\]|[^/:]*):([0-9]+) ]] && echo "${BASH_REMATCH[2]}"; return 0; }

# Find the running instance: our own pid file first, else any live instance whose issuer has
# $wanted_port. Sets pid (empty when none), and log/pidfile to the instance found.
lookup() {
  pid=$(live_pid "$pidfile")
  [ -n "$pid" ] && return 0
  local f p n
  for f in "$here"/idp-*.pid; do
    if [ ! -f "$f" ] || [ "$f" = "$pidfile" ]; then continue; fi
    p=$(live_pid "$f")
    [ -n "$p" ] || continue
    n=${f##*/idp-}
    n=${n%.pid}
    if [ "$(port_of "$(issuer_of "$here/idp-$n.log")")" = "$wanted_port" ]; then
      set_instance "$n"
      pid=$p
      return 0
    fi
  done
}

print_vars() {
  printf 'IDP_ISSUER=%q\n' "$1"
  printf 'IDP_PLATFORM=%q\n' "$(platform_of "$log")"
  printf 'IDP_PID=%q\n' "$2"
  printf 'IDP_LOG=%q\n' "$log"
}

# how to run this script for the instance we act on (for messages)
me() { if [ -n "$explicit_port" ]; then echo "IDP_PORT=$explicit_port tests/idp/dev-idp.sh"; else echo "tests/idp/dev-idp.sh"; fi; }

# exit 0 when $1/.well-known/openid-configuration answers with issuer $1
probe() {
  # shellcheck disable=SC2016 # JavaScript template literals, not shell
  node -e '
    const [issuer] = process.argv.slice(1);
    fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(2000) })
      .then(async (r) => process.exit(r.ok && (await r.json()).issuer === issuer ? 0 : 1))
      .catch(() => process.exit(1));' "$1" 2>/dev/null
}

# the last lines of the log, indented, on stderr
show_log() {
  echo "dev-idp.sh: last lines of $log:" >&2
  tail -n 15 "$log" 2>/dev/null | sed 's/^/    /' >&2 || true
}

ensure_deps() {
  local marker=node_modules/oidc-provider/package.json
  [ -f "$marker" ] && return 0
  command -v npm >/dev/null ||
    die "npm not found on PATH; install Node.js >= 20.19 with npm (or run 'npm ci' in tests/idp)"
  # same lock as tests/support/idp.rs, so a test run and this script never install at once
  if command -v flock >/dev/null; then
    exec 9>>.npm-install.lock
    flock 9
  fi
  if [ ! -f "$marker" ]; then
    note "installing dependencies (npm ci in tests/idp)"
    npm ci --no-update-notifier --no-audit --no-fund --loglevel=error </dev/null >&2 ||
      die "'npm ci' failed in $here (see npm's messages above); fix that (network? registry?) and run start again"
  fi
  exec 9>&- # never let the server inherit the lock
}

# Start server.mjs on port $1 (0: any free port) in its own session, detached from this
# terminal (Ctrl-C or a hang-up there does not reach it); sets pid and writes the pid file.
launch() {
  pid=$(IDP_PORT=$1 IDP_EXIT_ON_STDIN_EOF=0 node -e '
    const { spawn } = require("node:child_process");
    const fs = require("node:fs");
    const [server, log] = process.argv.slice(1);
    const out = fs.openSync(log, "w");
    const child = spawn(process.execPath, [server], { detached: true, stdio: ["ignore", out, out] });
    child.on("error", (e) => { console.error(e.message); process.exit(1); });
    child.on("spawn", () => { console.log(child.pid); child.unref(); process.exit(0); });
  ' "$here/server.mjs" "$log") || die "could not launch node $here/server.mjs (see above)"
  [[ $pid =~ ^[0-9]+$ ]] || die "could not launch node $here/server.mjs (no pid)"
  echo "$pid" >"$pidfile"
}

# Wait until the launched server answers discovery. Sets issuer. Returns 0 when ready, 1 when
# the server exited, 2 on timeout (then it has been killed). Either way without the pid file.
wait_ready() {
  local deadline=$((SECONDS + start_timeout))
  issuer=
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$pidfile"
      return 1
    fi
    issuer=$(issuer_of "$log")
    if [ -n "$issuer" ] && probe "$issuer"; then return 0; fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      kill "$pid" 2>/dev/null || true
      rm -f "$pidfile"
      return 2
    fi
    sleep 0.1
  done
}

start() {
  command -v node >/dev/null || die "node not found on PATH; install Node.js >= 20.19"
  local v
  v=$(node -p 'process.versions.node')
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
    die "node $v is too old; install Node.js >= 20.19"

  lookup
  if [ -n "$pid" ]; then
    note "already running with pid $pid (log $log)"
    print_vars "$(issuer_of "$log")" "$pid"
    return 0
  fi
  ensure_deps

  local try=$wanted_port rc=0
  while :; do
    launch "$try"
    rc=0
    wait_ready || rc=$?
    [ "$rc" -eq 0 ] && break
    if [ "$rc" -eq 2 ]; then
      show_log
      die "the server (pid $pid) did not answer discovery within ${start_timeout}s, so it was stopped; see $log (IDP_START_TIMEOUT sets the wait)"
    fi
    if grep -q 'cannot listen on .*EADDRINUSE' "$log"; then
      # (not with a fixed IDP_ISSUER: that names the port)
      if [ -z "$explicit_port" ] && [ "$try" -ne 0 ] && [ -z "${IDP_ISSUER:-}" ]; then
        note "port $try on $host is in use; using a free port instead (set IDP_PORT to choose one)"
        try=0
        continue
      fi
      die "port $try on $host is already in use (IDP_PORT=$try); set IDP_PORT to a free port, or unset IDP_PORT to let dev-idp.sh pick one"
    fi
    if grep -q 'cannot listen on ' "$log"; then
      die "server.mjs $(grep -m1 'cannot listen on ' "$log"); choose another address with IDP_HOST or port with IDP_PORT"
    fi
    show_log
    die "the server exited during start-up (see the log above, $log); fix the cause and run '$(me) start' again"
  done
  print_vars "$issuer" "$pid"
}

stop() {
  lookup
  if [ -z "$pid" ]; then
    note "not running ($(describe)); nothing to stop"
    return 0
  fi
  kill "$pid"
  local deadline=$((SECONDS + 5))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  rm -f "$pidfile"
  echo "stopped pid $pid ($(issuer_of "$log"))"
}

status() {
  lookup
  if [ -n "$pid" ]; then
    print_vars "$(issuer_of "$log")" "$pid"
  else
    note "not running ($(describe)); start it with: $(me) start"
    exit 1
  fi
}

describe() {
  if [ -n "$explicit_port" ]; then
    echo "no live instance on port $explicit_port"
  else
    echo "no live default instance, nor one on port $default_port"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status   (port: IDP_PORT; default $default_port, or a free port if that is taken)" >&2; exit 2 ;;
esac
