"""Where `serve` lived first: laambda/server.py and laambda/up.py still import it from here.

Remove this module once they import receiver.server.
"""

from __future__ import annotations

from receiver.server import Receiver, serve

__all__ = ["Receiver", "serve"]
