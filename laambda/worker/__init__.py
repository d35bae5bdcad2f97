"""The Celery worker: tasks (tasks/, ids in), running a build job (build_runner.py), applying a
release (rollout.py, canary.py), the recovery sweep (sweep.py) and sending tasks
(enqueue.py, which the API and the receiver use).

May import: laambda.worker, laambda.services and everything below it. Never api/, web/,
cli/ or laambda/receiver/.
"""
