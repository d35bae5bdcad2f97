"""The one-machine platform that `laambda up` runs: embedded PostgreSQL, the in-process broker,
the local cloud (moto, with laambda's own Lambda runtime in runtime/), and putting live
releases back into a fresh local cloud (restore.py).

May import: laambda.local, laambda.worker, laambda.services and everything below. Never
api/, web/, cli/ or laambda/receiver/.
"""
