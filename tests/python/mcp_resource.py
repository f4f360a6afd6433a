"""A real OAuth-protected MCP server (RFC 9728 protected resource) for vmauth's
resource-first login tests, built with the official MCP Python SDK (package
`mcp`, pinned in requirements.txt) and its own auth support: MCPServer with
AuthSettings(issuer_url, resource_server_url, required_scopes,
validate_token_resource=True) and a TokenVerifier. TEST USE ONLY.

    python mcp_resource.py --issuer ISSUER [--resource-path /mcp]
        [--extra-server URL ...] [--wrong-resource [URL]]
        [--required-scopes "mcp"] [--port 0] [--ignore-stdin]

Stdout: exactly one line once it is listening (flushed), nothing else:

    MCP_READY url=http://127.0.0.1:<port>/mcp

`url` is the server URL: the MCP streamable-HTTP endpoint and the resource
identifier (RFC 8707 `resource`, RFC 9728 `resource`). Logs (uvicorn's access
log, token refusals; never a token) go to stderr. It exits when stdin closes
(the Rust harness keeps it open; `--ignore-stdin` for running it by hand) and
on SIGTERM / Ctrl-C.

What the SDK serves (ISSUER being the test IdP, tests/idp, started with
IDP_LOOPBACK_RESOURCES=1 so that it accepts the resource on this ephemeral port):
  GET  /.well-known/oauth-protected-resource/mcp   RFC 9728 metadata (path-inserted,
       RFC 9728 section 3.1): {"resource": url, "authorization_servers": [ISSUER],
       "scopes_supported": ["mcp"], "bearer_methods_supported": ["header"]}
  POST /mcp   MCP streamable HTTP (JSON answers, sessions). Without a valid token:
       401, `WWW-Authenticate: Bearer error="invalid_token",
       error_description="Authentication required",
       resource_metadata="http://127.0.0.1:<port>/.well-known/oauth-protected-resource/mcp"`
       (the SDK's RequireAuthMiddleware); a valid token without a required scope: 403
       `error="insufficient_scope"`. Tool `whoami` returns the token's `sub`.
  GET  /whoami  (added here, behind the same SDK middleware) 200
       {"sub","client_id","scope","aud","iss"} with a valid token, else the same 401/403.

A token is valid when RFC 7662 introspection (client `vmauth-rs`, secret
`vmauth-rs-secret`, HTTP Basic, at <server>/token/introspection of ISSUER, then of
each loopback --extra-server, e.g. a second test IdP) says `active: true`, `iss` is that server, and `aud` (a string
or a list) contains the server URL exactly (RFC 8707); the SDK then checks
`AccessToken.resource` against resource_server_url again (validate_token_resource)
and the required scopes (default `mcp`; `--required-scopes ""` for none).

Modes for the client's RFC 9728 handling:
  --extra-server URL (repeatable)  authorization_servers = [ISSUER, URL, ...]; the
       SDK lists only AuthSettings.issuer_url, so its metadata route is replaced by one
       built with the SDK's create_protected_resource_routes and the longer list.
  --wrong-resource [URL]  the metadata's `resource` is URL (default: the server's
       origin + "/other-resource"), not the server URL: a client must refuse it
       (RFC 9728 section 3.3). Served with the SDK's ProtectedResourceMetadataHandler
       at the real well-known path. Tokens are still checked against the real URL.

Proving a token by hand (T an access token for resource http://127.0.0.1:<port>/mcp):

    curl -s -o /dev/null -w '%{http_code}\\n' http://127.0.0.1:<port>/mcp \\
      -H "Authorization: Bearer $T" -H 'Content-Type: application/json' \\
      -H 'Accept: application/json, text/event-stream' \\
      -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
    # 200 (401 without the header or with a bad token); or simply:
    curl -s http://127.0.0.1:<port>/whoami -H "Authorization: Bearer $T"

The initialize answer carries an `mcp-session-id` header; with it (and the token,
`MCP-Protocol-Version: 2025-06-18`, the same Accept) POST
{"jsonrpc":"2.0","method":"notifications/initialized"} (202), then
{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}
-> 200 {"result":{"content":[{"type":"text","text":"alice"}],...}}. The SDK's own
client (mcp.client.streamable_http_client with an httpx2 client carrying the header)
works as well.

SDK behaviour to know (mcp 2.3.0): the 401 says `error="invalid_token"` also when
no token was sent at all (RFC 6750 section 3.1 would leave `error` out) and never
carries `scope=`; the scopes are only in the metadata's `scopes_supported`. A token
that cannot be checked (introspection unreachable or failing) is refused (401).
Start-up takes about 2 s (imports); wait for the ready line. Python >= 3.10; run it
with the venv of requirements.txt (target/py-venv locally).
"""

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from urllib.parse import urlsplit

import httpx
import uvicorn
from pydantic import AnyHttpUrl
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, request_response

from mcp.server.auth.handlers.metadata import ProtectedResourceMetadataHandler
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.middleware.bearer_auth import RequireAuthMiddleware
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import build_resource_metadata_url, cors_middleware, create_protected_resource_routes
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import ProtectedResourceMetadata

log = logging.getLogger("mcp_resource")


class IntrospectionVerifier:
    """SDK TokenVerifier: RFC 7662 introspection at each authorization server in
    turn; active, issued by that server, and for this resource (RFC 8707 `aud`)."""

    def __init__(self, servers, resource, client_id, client_secret):
        self.servers = servers
        self.resource = resource
        self.auth = (client_id, client_secret)

    async def verify_token(self, token: str) -> AccessToken | None:
        async with httpx.AsyncClient(timeout=10) as http:
            for server in self.servers:
                endpoint = server.rstrip("/") + "/token/introspection"
                try:
                    r = await http.post(
                        endpoint, data={"token": token, "token_type_hint": "access_token"}, auth=self.auth
                    )
                except httpx.HTTPError as e:
                    log.warning("introspection at %s failed: %s", endpoint, e)
                    continue
                if r.status_code != 200:
                    log.warning("introspection at %s answered HTTP %s", endpoint, r.status_code)
                    continue
                try:
                    body = r.json()
                except ValueError:
                    log.warning("introspection at %s answered no JSON", endpoint)
                    continue
                if not isinstance(body, dict) or body.get("active") is not True:
                    continue
                if body.get("iss") != server:
                    log.warning("token refused: iss %r is not %s", body.get("iss"), server)
                    return None
                aud = body.get("aud")
                auds = [aud] if isinstance(aud, str) else list(aud or [])
                if self.resource not in auds:
                    log.warning("token refused: aud %r does not contain %s (RFC 8707)", aud, self.resource)
                    return None
                log.info("token accepted: sub=%s client_id=%s scope=%r", body.get("sub"), body.get("client_id"), body.get("scope"))
                return AccessToken(
                    token=token,
                    client_id=body.get("client_id") or "",
                    scopes=(body.get("scope") or "").split(),
                    expires_at=body.get("exp"),
                    resource=self.resource,
                    subject=body.get("sub"),
                    claims=body,
                )
        log.warning("token refused: not active at %s", ", ".join(self.servers))
        return None


def parse_args():
    p = argparse.ArgumentParser(description="OAuth-protected MCP server (official MCP Python SDK) for tests")
    p.add_argument("--issuer", required=True, help="authorization server (the test IdP's issuer)")
    p.add_argument("--resource-path", default="/mcp", help="path of the MCP endpoint and of the resource URL")
    p.add_argument("--extra-server", action="append", default=[], metavar="URL",
                   help="one more entry of authorization_servers (repeatable)")
    p.add_argument("--wrong-resource", nargs="?", const="", default=None, metavar="URL",
                   help="serve metadata whose `resource` is not this server's URL")
    p.add_argument("--required-scopes", default="mcp", help='space-separated scopes a token must have ("" for none)')
    p.add_argument("--port", type=int, default=0, help="listen port on 127.0.0.1 (0: ephemeral)")
    p.add_argument("--introspection-client", default="vmauth-rs")
    p.add_argument("--introspection-secret", default="vmauth-rs-secret")
    p.add_argument("--ignore-stdin", action="store_true", help="do not exit when stdin closes")
    args = p.parse_args()
    if not args.resource_path.startswith("/"):
        p.error("--resource-path must start with /")
    return args


def replace_route(app, path, new_routes):
    routes = app.router.routes
    index = next(i for i, r in enumerate(routes) if getattr(r, "path", None) == path)
    routes[index:index + 1] = new_routes


def build_app(args, url):
    issuer = args.issuer.rstrip("/")
    servers = [issuer, *(s.rstrip("/") for s in args.extra_server)]
    scopes = args.required_scopes.split() or None
    auth = AuthSettings(
        issuer_url=issuer,
        resource_server_url=url,
        required_scopes=scopes,
        validate_token_resource=True,
    )
    # introspect at the servers that can be a test IdP: the issuer and loopback extra servers
    loopback = [s for s in servers[1:] if urlsplit(s).hostname in ("127.0.0.1", "::1", "localhost")]
    verifier = IntrospectionVerifier([issuer, *loopback], url, args.introspection_client, args.introspection_secret)
    mcp = MCPServer(name="vmauth-test-mcp", token_verifier=verifier, auth=auth)

    @mcp.tool()
    def whoami() -> str:
        """The `sub` of the access token this request came with."""
        token = get_access_token()
        return (token.subject or "") if token else ""

    app = mcp.streamable_http_app(streamable_http_path=args.resource_path, json_response=True, host="127.0.0.1")

    metadata_url = build_resource_metadata_url(AnyHttpUrl(url))
    metadata_path = urlsplit(str(metadata_url)).path
    if args.wrong_resource is not None:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        wrong = args.wrong_resource or origin + "/other-resource"
        # (strings, not AnyHttpUrl: the model keeps a path-less URL as it is, without a "/")
        metadata = ProtectedResourceMetadata(resource=wrong, authorization_servers=servers, scopes_supported=scopes)
        handler = ProtectedResourceMetadataHandler(metadata)
        replace_route(app, metadata_path, [
            Route(metadata_path, endpoint=cors_middleware(handler.handle, ["GET", "OPTIONS"]), methods=["GET", "OPTIONS"])
        ])
    elif args.extra_server:
        replace_route(app, metadata_path, create_protected_resource_routes(
            resource_url=url, authorization_servers=servers, scopes_supported=scopes  # strings, as above
        ))

    async def whoami_route(request: Request):
        token: AccessToken = request.user.access_token
        claims = token.claims or {}
        return JSONResponse({
            "sub": token.subject, "client_id": token.client_id, "scope": " ".join(token.scopes),
            "aud": claims.get("aud"), "iss": claims.get("iss"),
        })

    app.router.routes.append(Route(
        "/whoami",
        endpoint=RequireAuthMiddleware(request_response(whoami_route), scopes or [], metadata_url),
        methods=["GET"],
    ))
    return app


class Server(uvicorn.Server):
    def __init__(self, config, url):
        super().__init__(config)
        self.url = url

    async def startup(self, sockets=None):
        await super().startup(sockets=sockets)
        if self.started:
            sys.stdout.write(f"MCP_READY url={self.url}\n")
            sys.stdout.flush()


def exit_on_stdin_eof(server):
    try:
        while sys.stdin.buffer.read(65536):
            pass
    except OSError:
        pass
    log.info("stdin closed, shutting down")
    server.should_exit = True
    # a stuck connection must not keep us alive
    timer = threading.Timer(5, lambda: os._exit(0))
    timer.daemon = True
    timer.start()


def main():
    args = parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s mcp_resource %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}{args.resource_path}"

    app = build_app(args, url)
    config = uvicorn.Config(app, log_config=None, timeout_graceful_shutdown=2, lifespan="on")
    server = Server(config, url)
    if not args.ignore_stdin:
        threading.Thread(target=exit_on_stdin_eof, args=(server,), daemon=True).start()
    log.info("resource %s, authorization servers %s, required scopes %r", url,
             [args.issuer, *args.extra_server], args.required_scopes)
    server.run(sockets=[sock])


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
