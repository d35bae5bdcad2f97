"""The Celery tasks (`build.run`, `release.apply`): ids in, one call of the worker's code."""
