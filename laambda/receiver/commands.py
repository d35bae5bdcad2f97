"""What a git client asks over ssh: `git-receive-pack '<app>'` or `git-upload-pack '<app>'`,
or the same for a pipeline's repository, `'pipelines/<pipeline>'`.

Parsed without a shell, and refused with a message for people when it is anything else.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from laambda.domain.app_name import app_name_problem

VERBS = ("git-receive-pack", "git-upload-pack")
USAGE = "laambda takes git pushes only: git push ssh://git@HOST:PORT/APP main"
PIPELINES = "pipelines/"


class CommandRefused(ValueError):
    pass


@dataclass(frozen=True)
class GitCommand:
    verb: str  # git-receive-pack (push) or git-upload-pack (fetch, clone)
    app: str  # the app, or the pipeline when `pipeline` is set
    pipeline: bool = False  # the repository of the pipeline `app` (ssh://HOST/pipelines/NAME)

    @property
    def pushes(self) -> bool:
        return self.verb == "git-receive-pack"


def parse_command(command: str) -> GitCommand:
    """The git command and app asked for; CommandRefused says why not."""
    try:
        words = shlex.split(command)
    except ValueError:
        raise CommandRefused(f"cannot read the command {command!r}: {USAGE}") from None
    if not words or words[0] not in VERBS:
        shown = words[0] if words else "(nothing)"
        raise CommandRefused(f"'{shown}' is not allowed here: {USAGE}")
    if len(words) != 2:
        raise CommandRefused(f"{words[0]} takes one app, as in {words[0]} 'APP': {USAGE}")
    verb, path = words
    app = path.removeprefix("/").removesuffix(".git")
    pipeline = app.startswith(PIPELINES)
    if pipeline:
        app = app.removeprefix(PIPELINES)
    if "/" in app or ".." in app:
        raise CommandRefused(f"'{path}' is not an app: name the app alone, as in ssh://HOST/APP")
    if (problem := app_name_problem(app)) is not None:
        # pipeline names follow the app name rules; the message names the right noun
        raise CommandRefused(
            problem.replace("valid app name", "valid pipeline name", 1) if pipeline else problem
        )
    return GitCommand(verb=verb, app=app, pipeline=pipeline)
