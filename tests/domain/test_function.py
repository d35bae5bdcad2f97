"""Function names, architectures and the Procfile-entry check (laambda/domain/function.py)."""

import pytest

from laambda.domain.function import (
    ARCHITECTURES,
    architecture_or_default,
    function_name,
    linux_machine,
    require_entry,
)
from laambda.errors import FunctionNotFound, InvalidInput


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


def test_a_name_that_is_an_entry_and_another_entrys_function_name_is_refused() -> None:
    # entry "red-web" (function red-red-web) and entry "web" (function red-web)
    with pytest.raises(InvalidInput) as raised:
        require_entry("red", "red-web", ["web", "red-web"])
    assert raised.value.message == (
        "'red-web' is ambiguous in app 'red': it is the function name of entry web and the "
        "entry red-web; name entry web as web; name entry red-web as red-red-web"
    )
    assert raised.value.status_code == 422
    # each unambiguous spelling names one entry
    assert require_entry("red", "web", ["web", "red-web"]) == "web"
    assert require_entry("red", "red-red-web", ["web", "red-web"]) == "red-web"


def test_an_entry_with_no_unambiguous_name_is_told_to_be_renamed() -> None:
    entries = ["web", "red-web", "red-red-web"]
    with pytest.raises(InvalidInput, match="entry red-web has no unambiguous name: rename it"):
        require_entry("red", "red-web", entries)


def test_the_release_phase_is_not_listed_as_a_function() -> None:
    with pytest.raises(FunctionNotFound) as raised:
        require_entry("red", "nope", ["web", "release"])
    assert raised.value.message == "app 'red' has no function 'nope'; its functions: web"
    with pytest.raises(FunctionNotFound, match="its functions: none \\(only a release phase\\)"):
        require_entry("red", "nope", ["release"])


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
