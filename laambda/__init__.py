"""laambda: `git push` to AWS Lambda.

The packages are layers; each may import only the layers below it (tests/test_layers.py checks
it, and README.md's Architecture section draws a push through them), from the bottom:

  errors.py                          failure nouns
  domain/                            pure rules
  config.py crypto.py trace.py fleet.py   settings and small shared utilities
  db/ migrations/                    models, engine, sessions; Alembic's migrations
  objectstore.py gitrepo.py logstream.py deploy/ building/
                                     adapters: S3, git repositories, Redis streams, AWS, builds
  services/                          the use cases, and every SQL query
  worker/                            Celery tasks: builds and releases
  api/ web/ receiver/                the REST API, the dashboard, the git receiver
  local/                             the one-machine platform (`laambda up`)
  cli/                               the command-line client
  up.py server_commands.py           what `laambda up` and the server-side commands run
"""


def __getattr__(name: str) -> str:
    """`laambda.__version__`: the installed distribution's (pyproject.toml's) version, or
    "0+unknown" imported from a folder that was never installed. Read when first asked for
    (PEP 562): importlib.metadata (and the email package it imports) is 20 ms of CPU that
    every process importing laambda paid, the git hook of every push included.

    Raises AttributeError for any other name, as a module does."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("laambda")
    except PackageNotFoundError:
        found = "0+unknown"
    globals()["__version__"] = found
    return found
