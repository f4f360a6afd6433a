"""Real MLflow, requests and httpx clients asking vmauth for tokens (run by
tests/python.rs with the test home's environment, VMAUTH_BIN, VMAUTH_PROFILE,
IDP_ISSUER and MLFLOW_TRACKING_AUTH=vmauth).

A loopback tracking stub accepts a request only with a bearer token the test
IdP says is active (introspection) and the user's X-User-Email header, and
records the tokens it saw. MLflow calls go on until the stub has seen two
different tokens (the first expired and was refreshed between calls), within
a deadline. Prints one JSON line of what was seen; exits 1 with a reason."""

import http.server
import json
import os
import sys
import threading
import time
import urllib.parse
import urllib.request

ISSUER = os.environ["IDP_ISSUER"]
seen = []  # (path, token, email)
lock = threading.Lock()


def active(token):
    body = urllib.parse.urlencode({"client_id": "vmauth-cli", "token": token}).encode()
    with urllib.request.urlopen(f"{ISSUER}/token/introspection", body, timeout=10) as r:
        return json.load(r).get("active") is True


class Stub(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self):
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        email = self.headers.get("X-User-Email")
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        # MLflow's requests must say who the user is (the plugin's X-User-* headers).
        if self.path.startswith("/api/") and not email:
            token = None
        if not token or not active(token):
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with lock:
            seen.append((self.path, token, email))
        body = json.dumps({"experiment_id": str(len(seen))}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = answer
    do_POST = answer


def fail(why):
    print(json.dumps({"error": why}))
    sys.exit(1)


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    uri = f"http://127.0.0.1:{server.server_port}"

    import mlflow
    from mlflow import MlflowClient
    mlflow.set_tracking_uri(uri)
    client = MlflowClient()
    deadline = time.monotonic() + 30
    i = 0
    while len({t for p, t, _ in seen if p.startswith("/api/")}) < 2:
        if time.monotonic() > deadline:
            fail(f"no refreshed token within 30 s: {len(seen)} requests")
        client.create_experiment(f"run-{i}")
        i += 1
        time.sleep(0.2)  # a poll with a deadline: the first token lives a few seconds
    mlflow_tokens = len({t for p, t, _ in seen if p.startswith("/api/")})
    emails = {e for p, _, e in seen if p.startswith("/api/")}

    import requests
    import httpx
    from vmauth.requests_auth import VmauthAuth as RequestsAuth
    from vmauth.httpx_auth import VmauthAuth as HttpxAuth
    profile = os.environ["VMAUTH_PROFILE"]
    r = requests.get(f"{uri}/requests", auth=RequestsAuth(profile=profile, user_headers=True), timeout=10)
    h = httpx.get(f"{uri}/httpx", auth=HttpxAuth(profile=profile, user_headers=True), timeout=10)

    from vmauth import VmauthError
    try:
        requests.get(f"{uri}/nobody", auth=RequestsAuth(profile="nobody"), timeout=10)
        not_logged_in = None
    except VmauthError as e:
        not_logged_in = {"message": str(e), "exit_code": e.exit_code}

    print(json.dumps({
        "mlflow_requests": i,
        "mlflow_tokens": mlflow_tokens,
        "emails": sorted(x for x in emails if x),
        "requests_status": r.status_code,
        "httpx_status": h.status_code,
        "not_logged_in": not_logged_in,
    }))


main()
