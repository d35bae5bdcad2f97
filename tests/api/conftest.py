"""An API client over the ASGI app, sharing the test's transaction, and users with tokens
(tests/support/api.py)."""

from tests.support.api import alice, api, api_settings, app_row, auth, client, make_user

__all__ = ["alice", "api", "api_settings", "app_row", "auth", "client", "make_user"]
