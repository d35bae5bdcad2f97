"""Builds: a source tarball in, a deterministic Lambda artifact (zip) out.

unpack.py (safe extraction), detect.py (runtime and spec), source_check.py and links.py (what
a tree may hold), dependencies.py with builders/ (the LAAMBDA_BUILDER backends that install
dependencies), cache.py (the dependency cache), artifact.py, pipeline.py (all of it in order).

May import: laambda.building, the foundation (errors, config, crypto, trace, fleet),
laambda.domain, laambda.objectstore. Never deploy/, db/, services/ or anything above.
"""
