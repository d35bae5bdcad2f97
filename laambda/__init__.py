"""laambda: `git push` to AWS Lambda.

The packages are layers; each may import only the layers below it (tests/test_layers.py checks
it, and README.md's Architecture section draws a push through them), from the bottom:

  errors.py                          failure nouns
  domain/                            pure rules
  config.py crypto.py trace.py fleet.py   settings and small shared utilities
  db/ migrations/                    models, engine, sessions; Alembic's migrations
  objectstore.py logstream.py deploy/ building/   adapters: S3, Redis streams, AWS, builds
  services/                          the use cases, and every SQL query
  worker/                            Celery tasks: builds and releases
  api/ web/ receiver/                the REST API, the dashboard, the git receiver
  local/                             the one-machine platform (`laambda up`)
  cli/                               the command-line client
  up.py server_commands.py           what `laambda up` and the server-side commands run
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("laambda")  # the installed distribution's (pyproject.toml's) version
except PackageNotFoundError:  # imported from a folder that was never installed
    __version__ = "0+unknown"
