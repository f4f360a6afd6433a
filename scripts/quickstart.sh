#!/usr/bin/env bash
# Quick start: install vmauth (cargo install --path . --locked), start the local test OpenID
# Provider (tests/idp/dev-idp.sh start: port 9090, or a free port if 9090 is taken; it keeps
# running in the background, also after Ctrl-C here), and log in with the device flow as client
# vmauth-cli. Approve as alice / alice-password. At the end it prints the issuer and the
# follow-up commands (status, token, logout, stopping the IdP with tests/idp/dev-idp.sh stop).
#
#   scripts/quickstart.sh [vmauth login options...]   # e.g. --no-qr, --open
#   IDP_PORT=9191 scripts/quickstart.sh                # the IdP on port 9191 (fails if taken)
#
# Needs cargo (Rust >= 1.89), and Node.js >= 20.19 with npm. vmauth is installed where cargo
# installs: $CARGO_INSTALL_ROOT/bin, else $CARGO_HOME/bin, else ~/.cargo/bin.
#
# Test/developer knobs (not for the quick start itself):
#   VMAUTH_QUICKSTART_SKIP_INSTALL=1   do not run cargo install; use $VMAUTH_BIN, or else the
#                                      vmauth already in the install directory above
#   VMAUTH_BIN=target/debug/vmauth     the binary to use (only with VMAUTH_QUICKSTART_SKIP_INSTALL=1)
set -euo pipefail

die() { echo "quickstart.sh: error: $*" >&2; exit 1; }
note() { echo "quickstart.sh: $*" >&2; }

start_dir=$PWD
abs() { case $1 in /*) echo "$1" ;; *) echo "$start_dir/$1" ;; esac; }

# Where `cargo install` puts binaries (cargo's order, minus --root and the install.root setting
# of .cargo/config.toml). Relative paths are taken from the directory the script was run in,
# and exported absolute so that cargo, run from the repository, agrees.
if [ -n "${CARGO_INSTALL_ROOT:-}" ]; then
  export CARGO_INSTALL_ROOT
  CARGO_INSTALL_ROOT=$(abs "$CARGO_INSTALL_ROOT")
  bindir=$CARGO_INSTALL_ROOT/bin
elif [ -n "${CARGO_HOME:-}" ]; then
  export CARGO_HOME
  CARGO_HOME=$(abs "$CARGO_HOME")
  bindir=$CARGO_HOME/bin
elif [ -n "${HOME:-}" ]; then
  bindir=$HOME/.cargo/bin
else
  die "HOME is not set, so the cargo install directory is unknown; set HOME or CARGO_INSTALL_ROOT"
fi

skip_install=${VMAUTH_QUICKSTART_SKIP_INSTALL:-0}
case $skip_install in
  0 | "") skip_install=0 ;;
  1) ;;
  *) die "VMAUTH_QUICKSTART_SKIP_INSTALL='$skip_install' must be 1 or 0 (unset)" ;;
esac
if [ "$skip_install" = 1 ] && [ -n "${VMAUTH_BIN:-}" ]; then
  bin=$(abs "$VMAUTH_BIN")
else
  [ -z "${VMAUTH_BIN:-}" ] || note "ignoring VMAUTH_BIN (used only with VMAUTH_QUICKSTART_SKIP_INSTALL=1)"
  bin=$bindir/vmauth
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

# Check the prerequisites before a build that can take minutes.
if [ "$skip_install" = 0 ]; then
  command -v cargo >/dev/null || die "cargo not found on PATH; install Rust >= 1.89 (https://rustup.rs) and run again"
fi
command -v node >/dev/null || die "node not found on PATH; install Node.js >= 20.19 (with npm) and run again"

if [ "$skip_install" = 0 ]; then
  echo "==> Installing vmauth into $bindir (cargo install --path . --locked)" >&2
  cargo install --path . --locked --quiet ||
    die "'cargo install --path . --locked' failed (see cargo's messages above); fix that and run scripts/quickstart.sh again"
  { [ -f "$bin" ] && [ -x "$bin" ]; } ||
    die "cargo install succeeded but $bin is not an executable file; if cargo installs elsewhere (install.root in .cargo/config.toml), set CARGO_INSTALL_ROOT to that directory and run again"
else
  echo "==> Skipping cargo install (VMAUTH_QUICKSTART_SKIP_INSTALL=1); using $bin" >&2
  { [ -f "$bin" ] && [ -x "$bin" ]; } ||
    die "$bin is not an executable file; set VMAUTH_BIN to a built vmauth (e.g. target/debug/vmauth), or unset VMAUTH_QUICKSTART_SKIP_INSTALL to install one"
fi

# How to run this vmauth in the commands we print: by name if PATH finds this very binary.
on_path=$(command -v vmauth || true)
if [ -n "$on_path" ] && [ "$on_path" -ef "$bin" ]; then
  vm=vmauth
else
  vm=$(printf '%q' "$bin")
  if [ -n "$on_path" ]; then
    note "the vmauth on your PATH is $on_path, not $bin; the commands below use the full path"
  elif [ "$skip_install" = 0 ]; then
    note "add $bindir to PATH to run vmauth by name; the commands below use the full path"
  fi
fi

echo "==> Starting the local identity provider (tests/idp/dev-idp.sh start)" >&2
unset IDP_PID IDP_LOG
# dev-idp.sh prints one line saying what went wrong when it fails: pass its status on.
idp_vars=$(tests/idp/dev-idp.sh start) || exit
eval "$idp_vars"
{ [ -n "${IDP_ISSUER:-}" ] && [ -n "${IDP_PID:-}" ]; } ||
  die "tests/idp/dev-idp.sh start did not report IDP_ISSUER and IDP_PID; see tests/idp/dev-idp.sh status"

# the stop command, runnable from where the user is, for the instance just started
idp_sh=tests/idp/dev-idp.sh
[ "$start_dir" -ef "$root" ] || idp_sh=$(printf '%q' "$root/tests/idp/dev-idp.sh")
stop_cmd="$idp_sh stop"
[ -z "${IDP_PORT:-}" ] || stop_cmd="IDP_PORT=$IDP_PORT $stop_cmd"

echo "==> Logging in to $IDP_ISSUER as client vmauth-cli (sign in as alice / alice-password)" >&2
rc=0
"$bin" login --issuer "$IDP_ISSUER" --client-id vmauth-cli "$@" || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "quickstart.sh: error: the login did not complete (vmauth exit $rc); the IdP keeps running at $IDP_ISSUER: retry with '$vm login --issuer $IDP_ISSUER --client-id vmauth-cli', or stop it with '$stop_cmd'" >&2
  exit "$rc"
fi

cat >&2 <<MSG

The local IdP keeps running at $IDP_ISSUER (pid $IDP_PID, log $IDP_LOG). Next:
  $vm status
  $vm token -o header | curl -H @- $IDP_ISSUER/me
  $vm logout
  $stop_cmd
MSG
