#!/usr/bin/env bash
# Run vmauth's test OpenID Provider (server.mjs) in the background, for humans and the README
# quick start. Tests do not use this script: they start their own instance on an ephemeral
# port through tests/support/idp.rs.
#
#   tests/idp/dev-idp.sh start     # npm ci if needed, start on IDP_PORT (default 9090), wait
#                                  # until discovery answers, print IDP_ISSUER=... IDP_PID=... IDP_LOG=...
#   eval "$(tests/idp/dev-idp.sh start)"   # same, and set those variables in your shell
#   tests/idp/dev-idp.sh status    # is it running?
#   tests/idp/dev-idp.sh stop      # stop it (SIGTERM, then SIGKILL after 5 s)
#   IDP_PORT=9191 IDP_DEVICE_CODE_TTL=5 tests/idp/dev-idp.sh start   # another instance/settings
#
# Every other IDP_* variable is passed to server.mjs (see README.md). The log is
# tests/idp/idp-$PORT.log and the pid file tests/idp/idp-$PORT.pid (both git-ignored).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
here=$PWD

port=${IDP_PORT:-9090}
log=$here/idp-$port.log
pidfile=$here/idp-$port.pid
start_timeout=${IDP_START_TIMEOUT:-30}

die() { echo "dev-idp.sh: $*" >&2; exit 1; }

# pid from the pid file if that process is alive and really our server.mjs, else empty
running_pid() {
  [ -f "$pidfile" ] || return 0
  local pid cmd
  pid=$(cat "$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || ps -o args= -p "$pid" 2>/dev/null || true)
  [[ $cmd == *server.mjs* ]] && echo "$pid"
  return 0
}

issuer_from_log() { sed -n 's/^IDP_READY issuer=//p' "$log" 2>/dev/null | head -n 1; }

print_vars() {
  echo "IDP_ISSUER=$1"
  echo "IDP_PID=$2"
  echo "IDP_LOG=$log"
}

# exit 0 when $1/.well-known/openid-configuration answers with issuer $1
probe() {
  node -e '
    const [issuer] = process.argv.slice(1);
    fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(2000) })
      .then(async (r) => process.exit(r.ok && (await r.json()).issuer === issuer ? 0 : 1))
      .catch(() => process.exit(1));' "$1" 2>/dev/null
}

start() {
  command -v node >/dev/null || die "node not found on PATH (need node >= 20.19)"
  local pid
  pid=$(running_pid)
  if [ -n "$pid" ]; then
    echo "dev-idp.sh: already running on port $port with pid $pid (log $log)" >&2
    print_vars "$(issuer_from_log)" "$pid"
    exit 0
  fi
  if [ ! -f node_modules/oidc-provider/package.json ]; then
    echo "dev-idp.sh: installing dependencies (npm ci)" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi

  IDP_PORT=$port nohup node "$here/server.mjs" >"$log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$pidfile"

  # poll (with a deadline) until this process printed IDP_READY and discovery answers
  local deadline=$((SECONDS + start_timeout)) issuer=
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$pidfile"
      echo "dev-idp.sh: server exited during start-up; log follows" >&2
      cat "$log" >&2
      exit 1
    fi
    issuer=$(issuer_from_log)
    if [ -n "$issuer" ] && probe "$issuer"; then break; fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      kill "$pid" 2>/dev/null || true
      rm -f "$pidfile"
      echo "dev-idp.sh: no answer from discovery within ${start_timeout}s; stopped pid $pid; log follows" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.1
  done
  print_vars "$issuer" "$pid"
}

stop() {
  local pid
  pid=$(running_pid)
  if [ -z "$pid" ]; then
    [ -f "$pidfile" ] && echo "dev-idp.sh: stale pid file removed" >&2
    rm -f "$pidfile"
    echo "dev-idp.sh: not running on port $port" >&2
    return 0
  fi
  kill "$pid"
  local deadline=$((SECONDS + 5))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  rm -f "$pidfile"
  echo "stopped pid $pid"
}

status() {
  local pid
  pid=$(running_pid)
  if [ -n "$pid" ]; then
    print_vars "$(issuer_from_log)" "$pid"
  else
    echo "dev-idp.sh: not running on port $port" >&2
    exit 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status   (port: IDP_PORT, default 9090)" >&2; exit 2 ;;
esac
