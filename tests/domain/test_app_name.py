from __future__ import annotations

import pytest

from laambda.domain.app_name import app_name_problem


@pytest.mark.parametrize("name", ["abc", "thumbs", "my-app-2", "a" * 30])
def test_valid(name: str) -> None:
    assert app_name_problem(name) is None


@pytest.mark.parametrize("name", ["ab", "a" * 31, "2abc", "Abc", "abc-", "ab_c", "a--b", "-abc"])
def test_invalid(name: str) -> None:
    assert app_name_problem(name) is not None
