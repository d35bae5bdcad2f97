"""Which allowed address npm is pointed at, as a pure function of the setting."""

from __future__ import annotations

import pytest

from laambda.domain.npm_spec import npm_registry
from laambda.errors import BuildFailed


@pytest.mark.parametrize(
    ("allowed", "registry"),
    [
        (["https://pypi.org/simple", "https://registry.npmjs.org"], "https://registry.npmjs.org"),
        (
            ["https://nexus.example.com/repository/pypi/simple",
             "https://github.com/acme", "https://nexus.example.com/repository/npm-proxy/",
             "https://registry.npmjs.org"],
            "https://nexus.example.com/repository/npm-proxy/",
        ),
        (["https://npm.pkg.github.com"], "https://npm.pkg.github.com"),
        (["https://art.example.com/api/npm/npm-remote"], "https://art.example.com/api/npm/npm-remote"),
    ],
)  # fmt: skip
def test_the_first_npm_entry_is_the_registry(allowed: list[str], registry: str) -> None:
    assert npm_registry(allowed) == registry


def test_no_npm_entry_is_refused_naming_the_setting() -> None:
    with pytest.raises(BuildFailed) as info:
        npm_registry(["https://pypi.org/simple", "https://unpm.example.com/", "file:///npm"])
    assert info.value.message == (
        "LAAMBDA_ALLOWED_INDEXES names no npm registry (an address with npm in its host or path, "
        "such as https://registry.npmjs.org), so Node.js dependencies cannot be installed: ask "
        "the operator to add one to LAAMBDA_ALLOWED_INDEXES"
    )
