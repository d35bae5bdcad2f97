"""The git receiver: an SSH server (paramiko) that takes `git push`, checks who may push
(auth.py), stores the source and asks for a build, and streams the build's log back.

May import: receiver, laambda.worker (enqueue.py), laambda.services and everything below.
Never laambda.api, laambda.web or laambda.cli.
"""
