"""Function names, architectures and the Procfile-entry check (laambda/domain/function.py)."""

import pytest

from laambda.domain.function import (
    ARCHITECTURES,
    architecture_or_default,
    function_name,
    linux_machine,
    require_entry,
)
from laambda.errors import FunctionNotFound


def test_a_function_is_named_after_its_app_and_entry() -> None:
    assert function_name("thumbs", "create") == "thumbs-create"


def test_an_unpinned_architecture_is_lambdas_default() -> None:
    assert ARCHITECTURES == ("x86_64", "arm64")
    assert architecture_or_default(None) == "x86_64"
    assert architecture_or_default("") == "x86_64"
    assert architecture_or_default("arm64") == "arm64"
    assert [linux_machine(a) for a in ARCHITECTURES] == ["x86_64", "aarch64"]


def test_an_entry_of_the_procfile_passes() -> None:
    require_entry("thumbs", "create", ["create", "resize"])


def test_an_unknown_entry_names_the_apps_functions() -> None:
    with pytest.raises(FunctionNotFound) as raised:
        require_entry("thumbs", "web", ["create", "resize"])
    assert (
        raised.value.message == "app 'thumbs' has no function 'web'; its functions: create, resize"
    )
    assert raised.value.status_code == 404


def test_an_app_without_code_says_to_push_first() -> None:
    with pytest.raises(FunctionNotFound) as raised:
        require_entry("thumbs", "web", [])
    assert raised.value.message == (
        "app 'thumbs' has no function 'web'; "
        "its functions: none yet: push code with a Procfile first"
    )
