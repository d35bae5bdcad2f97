"""Pure rules: the Procfile, function names and architectures, runtimes, app names, Lambda's
limits, release numbering and rollback, strategies, statuses.

Owns the words of the platform. Takes data and returns data: no I/O, no os, boto3, docker or
SQLAlchemy. May import: laambda.domain and laambda.errors only.
"""
