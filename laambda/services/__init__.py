"""The use cases: one module per noun (app.py, build.py, release.py, ...), each a module
singleton (`release_service`) whose methods take (session, subject, *, ...), flush and
never commit. Every SQL query and row lock of laambda is written here.

May import: laambda.services, laambda.db, the adapters (objectstore, logstream, deploy,
building), laambda.domain and the foundation. Never worker/, api/, web/, cli/ or laambda/receiver/:
work for a worker is handed over through a protocol (`ReleaseApplier`, `BuildQueue`).
"""
