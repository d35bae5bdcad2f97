"""What tests share: helpers, factories and fixtures, each in one place.

Test modules and conftest files import from here and never from each other; a conftest
re-exports the fixtures its folder uses (by `__all__`). Nothing here is collected as a test.
"""
