"""MLflow's ``mlflow.request_auth_provider`` plugin: with this package installed,
``MLFLOW_TRACKING_AUTH=vmauth`` makes every tracking request carry a fresh token
and the user's ``X-User-*`` headers. The login: ``VMAUTH_PROFILE`` (or vmauth's
current login); ``VMAUTH_ISSUER``/``VMAUTH_CLIENT_ID`` work as for vmauth itself."""

from mlflow.tracking.request_auth.abstract_request_auth_provider import RequestAuthProvider

from .requests_auth import VmauthAuth


class VmauthRequestAuthProvider(RequestAuthProvider):
    """The ``vmauth`` request auth provider."""

    def get_name(self):
        return "vmauth"

    def get_auth(self):
        # vmauth reads VMAUTH_PROFILE and the rest of its environment itself.
        return VmauthAuth(user_headers=True)
