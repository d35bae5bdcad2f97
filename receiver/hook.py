"""Entry point of the pre-receive hook laambda installs in every app's bare repository.

git runs it with the pushed refs on standard input; what it prints reaches the pusher as
`remote: …`. The receiver passes the app (or, for a pipeline's repository, the pipeline), the
pusher and how often to show a progress line in LAAMBDA_PUSH_* variables.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from laambda.config import get_settings
from laambda.errors import LaambdaError
from receiver.failure import unexpected
from receiver.pipeline_push import PipelinePush
from receiver.push import KEEPALIVE_SECONDS, Push, parse_updates


def _say(line: str) -> None:
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        pass  # the pusher went away; the build goes on and is recorded


def _data_dir() -> Path | None:
    try:
        return get_settings().data_dir
    except Exception:  # settings unreadable: the details are dropped, never shown
        return None


def main() -> int:
    try:
        user_id = int(os.environ["LAAMBDA_PUSH_USER_ID"])
        keepalive = float(os.environ.get("LAAMBDA_PUSH_KEEPALIVE", KEEPALIVE_SECONDS))
        push: Push | PipelinePush
        if pipeline := os.environ.get("LAAMBDA_PUSH_PIPELINE"):
            push = PipelinePush(
                get_settings(), pipeline=pipeline, user_id=user_id, say=_say, keepalive=keepalive
            )
        else:
            push = Push(
                get_settings(),
                app=os.environ["LAAMBDA_PUSH_APP"],
                user_id=user_id,
                say=_say,
                keepalive=keepalive,
            )
        return 0 if push.run(parse_updates(sys.stdin)) else 1
    except LaambdaError as exc:
        _say(f" !     Push rejected: {exc.message}")
    except Exception:  # the pusher gets one line, the receiver's log the rest
        what = os.environ.get("LAAMBDA_PUSH_PIPELINE") or os.environ.get("LAAMBDA_PUSH_APP")
        _say(f" !     Push rejected: {unexpected(_data_dir(), f'push to {what}')}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
