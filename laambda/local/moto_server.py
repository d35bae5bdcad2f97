"""moto's server in this process (ThreadedMotoServer), as `laambda up`'s local cloud and the
tests run it: Lambda's version numbers as AWS gives them (moto_versions), event source
mappings that follow their alias as AWS's do (moto_mappings), no log line per
request, and no look at moto's package folder per request.

moto's dispatcher asks, for each request, whether the request's host is the name of one of
moto's service packages, by listing moto's folder and testing each of its 150-odd entries
(backends.list_of_moto_modules: a tenth of the test workers' time went there). The folder does
not change while the process runs, so it is read once.
"""

from __future__ import annotations

import functools
import logging

from moto import backends
from moto.server import ThreadedMotoServer

from laambda.local import moto_mappings, moto_versions

_list_services = backends.list_of_moto_modules


@functools.cache
def _services() -> tuple[str, ...]:
    """moto's service packages, read once (backends.list_of_moto_modules lists its folder)."""
    return tuple(_list_services())


def start(host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadedMotoServer, str]:
    """Start moto's server on host:port (0: a free one), in threads of this process; returns
    it (stop it with .stop()) and its URL, http://host:port. Raises OSError when the port is
    taken."""
    moto_versions.install()
    moto_mappings.install()
    backends.list_of_moto_modules = _services
    # its HTTP server (werkzeug) logs every request at INFO: `laambda up` would print them
    # between its own lines, and the tests would format thousands
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    return server, f"http://{host}:{server._server.server_port}"  # type: ignore[union-attr]
