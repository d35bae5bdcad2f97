"""A static package index (a folder served over HTTP, as `python -m http.server` serves it) that
answers for some files only after a delay: a build that downloads one of them stays in its
installer long enough for a test to find it there, however fast the machine.

Run as a script (stdlib only, so it starts in a host of its own without the project):
    python slow_index.py DIRECTORY HOST PORT SLOW_SUBSTRING DELAY_SECONDS
"""

from __future__ import annotations

import functools
import sys
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class SlowFiles(SimpleHTTPRequestHandler):
    """Serves `directory`; a GET whose path holds `slow` waits `delay` seconds first."""

    slow = ""
    delay = 0.0

    def do_GET(self) -> None:
        if self.slow and self.slow in self.path:
            time.sleep(self.delay)
        super().do_GET()


def main(argv: list[str]) -> None:
    directory, host, port, slow, delay = argv
    handler = type("Handler", (SlowFiles,), {"slow": slow, "delay": float(delay)})
    server = ThreadingHTTPServer((host, int(port)), functools.partial(handler, directory=directory))
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
