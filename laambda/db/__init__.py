"""The database: SQLAlchemy models (one per file in models/), the engine and sessions
(session.py), advisory locks (locks.py) and the migrations runner (migrate.py).

Owns the schema. Writes no queries of the use cases: those are services' (README.md,
"SQL lives in services"). May import: laambda.db, laambda.domain, laambda.errors, laambda.config.
"""
