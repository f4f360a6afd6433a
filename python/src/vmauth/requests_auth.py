"""``requests`` authentication: ``requests.get(url, auth=VmauthAuth(profile="work"))``."""

import requests.auth

from . import check_url, token_for


class VmauthAuth(requests.auth.AuthBase):
    """Adds ``Authorization: Bearer <token>`` (fresh from vmauth) to each request;
    ``user_headers`` adds the user's ``X-User-*`` headers."""

    def __init__(self, profile=None, issuer=None, client_id=None, audience=None, user_headers=False):
        self.token = token_for(profile, issuer, client_id, audience)
        self.user_headers = user_headers

    def __call__(self, request):
        check_url(request.url)
        request.headers.update(self.token.headers(self.user_headers))
        return request

    def __repr__(self):
        return f"VmauthAuth({self.token!r})"
