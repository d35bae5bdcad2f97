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
    assert require_entry("thumbs", "create", ["create", "resize"]) == "create"


def test_the_function_name_laambda_functions_lists_finds_its_entry() -> None:
    assert require_entry("thumbs", "thumbs-resize", ["create", "resize"]) == "resize"
    assert require_entry("shop", "shop-release", ["create", "release"]) == "release"


def test_an_entry_spelled_like_a_function_name_wins() -> None:
    # entry "thumbs-create" (function thumbs-thumbs-create) and entry "create" (thumbs-create)
    assert require_entry("thumbs", "thumbs-create", ["create", "thumbs-create"]) == "thumbs-create"


def test_another_apps_function_name_is_not_an_entry() -> None:
    with pytest.raises(FunctionNotFound, match="has no function 'other-create'"):
        require_entry("thumbs", "other-create", ["create"])


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
