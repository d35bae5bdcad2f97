"""The builders LAAMBDA_BUILDER names: each installs an app's dependencies for Lambda's Linux
(docker.py over the Docker API, wheels.py with Lambda-platform wheels, node.py with npm).
A builder installs dependencies only; running a whole build is laambda/building/pipeline.py,
and a worker running a build job is laambda/worker/build_runner.py."""
