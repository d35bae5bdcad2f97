"""The REST API: the app factory (app.py), dependencies (deps.py), routes/ and schemas/, and
turning rows into answers (present.py).

May import: laambda.api, laambda.worker (enqueue.py: sending tasks after commit),
laambda.services and everything below. Exception: app.py mounts the dashboard
(laambda.web). Never cli/ or laambda/receiver/.
"""
