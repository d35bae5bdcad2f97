"""`laambda up` started in a home of its own (tests/support/up.py)."""

from tests.support.up import platform

__all__ = ["platform"]
