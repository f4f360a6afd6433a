"""``httpx`` authentication: ``httpx.Client(auth=VmauthAuth(profile="work"))``."""

import httpx

from . import check_url, token_for


class VmauthAuth(httpx.Auth):
    """Adds ``Authorization: Bearer <token>`` (fresh from vmauth) to each request."""

    def __init__(self, profile=None, issuer=None, client_id=None, audience=None, user_headers=False):
        self.token = token_for(profile, issuer, client_id, audience)
        self.user_headers = user_headers

    def auth_flow(self, request):
        check_url(request.url)
        request.headers.update(self.token.headers(self.user_headers))
        yield request

    def __repr__(self):
        return f"VmauthAuth({self.token!r})"
