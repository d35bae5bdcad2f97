"""Entry point of the pre-receive hook laambda installs in every app's bare repository.

git runs it with the pushed refs on standard input; what it prints reaches the pusher as
`remote: …`, and its exit status accepts or refuses the push. The push itself runs in the
receiver that started git (laambda/receiver/hookserver.py): this hook hands it the pushed refs, the
repository and git's environment over the Unix socket named in LAAMBDA_PUSH_SOCKET, with the
one-time token of LAAMBDA_PUSH_TOKEN, and relays the answer. It imports the standard library
only, so it starts in tens of milliseconds instead of importing the platform (issue 17).
"""

from __future__ import annotations

import json
import os
import socket
import sys

from laambda.trace import mark, process_started

SOCKET_ENV = "LAAMBDA_PUSH_SOCKET"  # laambda/receiver/hookserver.py sets these two
TOKEN_ENV = "LAAMBDA_PUSH_TOKEN"


def _say(line: str) -> None:
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        pass  # the pusher went away; the build goes on and is recorded


def main() -> int:
    mark("hook.process", at=process_started())
    mark("hook.ready")
    path, token = os.environ.get(SOCKET_ENV), os.environ.get(TOKEN_ENV)
    if not path or not token:
        _say(" !     Push rejected: push through laambda's receiver (git push over ssh)")
        return 1
    request = {
        "token": token,
        "updates": sys.stdin.read(),
        "cwd": os.getcwd(),
        "env": {k: v for k, v in os.environ.items() if k.startswith("GIT_")},
    }
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.connect(path)
            with server.makefile("rwb") as stream:
                stream.write(json.dumps(request).encode() + b"\n")
                stream.flush()
                for line in stream:
                    answer = json.loads(line)
                    if "exit" in answer:
                        return int(answer["exit"])
                    _say(str(answer.get("say", "")))
    except (OSError, ValueError) as exc:
        _say(f" !     Push rejected: laambda's receiver went away ({type(exc).__name__})")
        return 1
    _say(" !     Push rejected: laambda's receiver went away before the push ended")
    return 1


if __name__ == "__main__":
    sys.exit(main())
