"""Fresh tokens from the ``vmauth`` command for Python HTTP clients.

``Token`` asks ``vmauth token -o json`` (never through a shell) and keeps the
answer until the refresh margin, shared by every client of the same
selection; ``vmauth.requests_auth.VmauthAuth``, ``vmauth.httpx_auth.VmauthAuth``
and the MLflow plugin (``MLFLOW_TRACKING_AUTH=vmauth``) put it in the
``Authorization`` header. The token is never logged, printed or put in an
exception: a failure raises ``VmauthError`` with vmauth's one-line message
and exit code.
"""

import json
import os
import subprocess
import threading
import time

__all__ = ["Token", "VmauthError", "check_url", "token_for"]

#: Used again until this many seconds before it expires (vmauth's default --min-ttl).
MARGIN = 60


class VmauthError(RuntimeError):
    """vmauth could not give a token: its one-line message and exit code
    (4: log in first, 2: a usage or configuration error, 1: the provider or
    the network)."""

    def __init__(self, message, exit_code):
        super().__init__(message)
        self.exit_code = exit_code


class Token:
    """The token of one selection: a ``profile``, or ``issuer`` and
    ``client_id`` (with ``audience``), else vmauth's current login.
    ``vmauth`` is the program (``VMAUTH_BIN`` in the environment, else
    ``vmauth`` on ``PATH``)."""

    def __init__(self, profile=None, issuer=None, client_id=None, audience=None, vmauth=None,
                 margin=MARGIN, clock=time.time):
        self.args = []
        if profile:
            self.args += ["--profile", profile]
        if issuer or client_id:
            self.args += ["--issuer", issuer or "", "--client-id", client_id or ""]
            if audience:
                self.args += ["--audience", audience]
        self.vmauth = vmauth or os.environ.get("VMAUTH_BIN") or "vmauth"
        self.margin = margin
        self.clock = clock
        self._lock = threading.Lock()
        self._answer = None
        self._until = 0.0

    def __repr__(self):
        return f"Token(args={self.args!r})"

    def answer(self):
        """vmauth's JSON answer (``token``, ``expires_in``, ``claims``, …),
        asked for again once within the margin of its expiry."""
        with self._lock:
            now = self.clock()
            if self._answer is None or now >= self._until:
                self._answer = self._ask()
                expires_in = float(self._answer.get("expires_in") or 0)
                # At most half its lifetime, as vmauth's own refresh margin.
                keep = max(0.0, expires_in - min(self.margin, expires_in / 2))
                self._until = now + keep
            return self._answer

    def value(self):
        """The token."""
        return self.answer()["token"]

    def headers(self, user_headers=False):
        """``Authorization: Bearer …``; with ``user_headers``, also
        ``X-User-Id``, ``X-User-Email`` and ``X-User-Name`` from the login's
        verified claims (as MLflow authentication plugins pass the user)."""
        a = self.answer()
        out = {"Authorization": f"Bearer {a['token']}"}
        if user_headers:
            claims = a.get("claims") or {}
            for header, claim in (("X-User-Id", "sub"), ("X-User-Email", "email"), ("X-User-Name", "name")):
                v = claims.get(claim)
                # Printable ASCII only: HTTP clients encode headers as Latin-1
                # or ASCII, and a line break would end the header.
                if isinstance(v, str) and v and all(" " <= ch <= "~" for ch in v):
                    out[header] = v
        return out

    def _ask(self):
        try:
            p = subprocess.run([self.vmauth, "token", "-o", "json", *self.args],
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=False)
        except FileNotFoundError:
            raise VmauthError(f"vmauth: error: the vmauth program was not found ({self.vmauth}); install it or set VMAUTH_BIN", 127) from None
        except subprocess.TimeoutExpired:
            raise VmauthError("vmauth: error: vmauth token did not answer within 60 s", 1) from None
        if p.returncode != 0:
            lines = [l for l in p.stderr.decode("utf-8", "replace").splitlines() if l.startswith("vmauth:")]
            message = lines[-1] if lines else f"vmauth: error: vmauth token exited with {p.returncode}"
            raise VmauthError(message, p.returncode)
        try:
            answer = json.loads(p.stdout)
            answer["token"]
        except (ValueError, KeyError, TypeError):
            raise VmauthError("vmauth: error: vmauth token -o json printed something else than its JSON", 1) from None
        return answer


def check_url(url):
    """Refuse to send a token to ``url`` unless it is https, or http on a
    loopback address (as vmauth itself): raises ``VmauthError`` (exit 2)."""
    import ipaddress
    import urllib.parse
    u = urllib.parse.urlsplit(str(url))
    host = (u.hostname or "").strip("[]")
    if u.scheme == "https":
        return
    if u.scheme == "http":
        try:
            if ipaddress.ip_address(host).is_loopback:
                return
        except ValueError:
            if host == "localhost":
                return
    raise VmauthError(f"vmauth: error: not sending a token to {u.scheme}://{u.hostname}: only https (or http on loopback) carries tokens", 2)


_shared = {}
_shared_lock = threading.Lock()


def token_for(profile=None, issuer=None, client_id=None, audience=None):
    """The ``Token`` of a selection, one per process (so every client and
    every MLflow request shares its cache)."""
    key = (profile, issuer, client_id, audience)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Token(profile=profile, issuer=issuer, client_id=client_id, audience=audience)
        return _shared[key]
