#!/usr/bin/env bash
# Quick start: install vmauth, start the local test OpenID Provider on
# http://127.0.0.1:9090 (it keeps running; stop it with tests/idp/dev-idp.sh stop),
# and log in with the device flow. Approve as alice / alice-password.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "==> Installing vmauth (cargo install --path . --locked)" >&2
cargo install --path . --locked --quiet

bin="${CARGO_HOME:-$HOME/.cargo}/bin/vmauth"
command -v vmauth >/dev/null || echo "note: add ${bin%/vmauth} to PATH to run vmauth by name" >&2

echo "==> Starting the local identity provider" >&2
eval "$(tests/idp/dev-idp.sh start)"

echo "==> Logging in to $IDP_ISSUER as client vmauth-cli (sign in as alice / alice-password)" >&2
"$bin" login --issuer "$IDP_ISSUER" --client-id vmauth-cli "$@"

cat >&2 <<MSG

Next:
  vmauth status
  curl -H "Authorization: Bearer \$(vmauth token)" $IDP_ISSUER/me
  vmauth logout
  tests/idp/dev-idp.sh stop
MSG
