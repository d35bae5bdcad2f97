"""The CSRF token of each dashboard session (sessions themselves: laambda/services/sign_in.py).

The CSRF token is an HMAC of the session token under the server's secret key: nothing more to
store, and it dies with the session (OWASP's "synchronizer token").
"""

from __future__ import annotations

import hashlib
import hmac


def csrf_token(secret_key: str, session_token: str) -> str:
    """The token every form of a session carries (hex HMAC-SHA256 of the session token)."""
    key = hashlib.sha256(b"laambda-dashboard-csrf:" + secret_key.encode()).digest()
    return hmac.new(key, session_token.encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret_key: str, session_token: str, sent: str) -> bool:
    return hmac.compare_digest(csrf_token(secret_key, session_token), sent)
