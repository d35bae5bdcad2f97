from __future__ import annotations

import json
from datetime import date

import pytest

from laambda.domain.runtime import ALL_RUNTIMES, detect_runtime, supported
from laambda.errors import BuildFailed

TODAY = date(2026, 11, 28)


def detect(files: dict[str, str], **kwargs: object):  # type: ignore[no-untyped-def]
    return detect_runtime(files, today=TODAY, **kwargs)  # type: ignore[arg-type]


class TestPython:
    def test_requirements_defaults_to_the_newest_python(self) -> None:
        found = detect({"requirements.txt": "pillow\n"})
        assert found.runtime.identifier == "python3.14"
        assert found.reason == "found requirements.txt"
        assert found.version_reason == "newest supported"
        assert found.warnings == ()

    def test_the_servers_default_when_no_version_is_named(self) -> None:
        defaults = {"python": "python3.12", "node": "nodejs20.x"}
        found = detect({"requirements.txt": ""}, defaults=defaults)
        assert found.runtime.identifier == "python3.12"
        assert found.version_reason == "the server's default for apps that name none"
        named = detect({"requirements.txt": "", ".python-version": "3.13"}, defaults=defaults)
        assert named.runtime.identifier == "python3.13"  # the app's own choice wins
        node = detect({"package.json": "{}"}, defaults=defaults)
        assert node.runtime.identifier == "nodejs20.x"
        engines = detect({"package.json": '{"engines": {"node": "22"}}'}, defaults=defaults)
        assert engines.runtime.identifier == "nodejs22.x"
        # a range that admits the default takes it (the local cloud's runnable Node.js)
        ranged = detect({"package.json": '{"engines": {"node": ">=18"}}'}, defaults=defaults)
        assert ranged.runtime.identifier == "nodejs20.x"
        assert ranged.version_reason == (
            "from engines.node in package.json, which admits the server's default"
        )
        above = detect({"package.json": '{"engines": {"node": ">=22"}}'}, defaults=defaults)
        assert above.runtime.identifier == "nodejs24.x"

    def test_a_default_lambda_no_longer_accepts_is_refused(self) -> None:
        with pytest.raises(BuildFailed, match="python3.8"):
            detect({"requirements.txt": ""}, defaults={"python": "python3.8"})

    @pytest.mark.parametrize(
        ("name", "text", "runtime"),
        [
            (".python-version", "3.12.4\n", "python3.12"),
            ("runtime.txt", "python-3.13.1", "python3.13"),
            # uv and pyenv skip blank lines and '#' comment lines in .python-version
            (".python-version", "# pinned for the image\n\n  3.12\n", "python3.12"),
        ],
    )
    def test_version_files(self, name: str, text: str, runtime: str) -> None:
        found = detect({"requirements.txt": "", name: text})
        assert found.runtime.identifier == runtime
        assert found.version_reason == f"from {name}"

    def test_pyproject_with_uv_lock(self) -> None:
        found = detect({"pyproject.toml": "[project]", "uv.lock": ""})
        assert (found.manifest, found.lockfile) == ("pyproject.toml", "uv.lock")
        assert found.reason == "found pyproject.toml and uv.lock"

    def test_pipfile(self) -> None:
        found = detect({"Pipfile": "", "Pipfile.lock": "{}"})
        assert (found.manifest, found.lockfile) == ("Pipfile", "Pipfile.lock")

    def test_deprecated_runtime_builds_with_a_warning_giving_the_date(self) -> None:
        found = detect({"requirements.txt": "", ".python-version": "3.11"})
        assert found.runtime.identifier == "python3.11"
        assert "deprecated by Lambda on 2026-06-30" in found.warnings[0]
        assert "stops accepting it on 2027-02-28" in found.warnings[0]

    def test_runtime_lambda_no_longer_accepts_is_refused_with_the_supported_list(self) -> None:
        with pytest.raises(BuildFailed) as info:
            detect({"requirements.txt": "", ".python-version": "3.9"})
        assert "python3.9 (from .python-version) is no longer accepted" in info.value.message
        assert "supported: python3.14, python3.13, python3.12, python3.11, python3.10" in (
            info.value.message
        )

    def test_unknown_version_is_refused(self) -> None:
        with pytest.raises(BuildFailed, match="python3.7 .* not a Lambda runtime"):
            detect({"requirements.txt": "", "runtime.txt": "python-3.7.2"})

    def test_malformed_version_file(self) -> None:
        with pytest.raises(BuildFailed, match="runtime.txt says 'py3'"):
            detect({"requirements.txt": "", "runtime.txt": "py3"})

    def test_app_setting_overrides_and_must_match_the_language(self) -> None:
        assert detect({"requirements.txt": ""}, requested="python3.12").runtime.version == "3.12"
        with pytest.raises(BuildFailed, match="the repository is a Python app"):
            detect({"requirements.txt": ""}, requested="nodejs22.x")


class TestNode:
    @pytest.mark.parametrize(
        ("engines", "runtime"),
        [(None, "nodejs24.x"), ("20.x", "nodejs20.x"), (">=22", "nodejs24.x"),
         ("^22.1.0", "nodejs22.x"), (">=18 <23", "nodejs22.x")],
    )  # fmt: skip
    def test_engines_node(self, engines: str | None, runtime: str) -> None:
        package = {"name": "a"} | ({"engines": {"node": engines}} if engines else {})
        found = detect({"package.json": json.dumps(package)})
        assert found.runtime.identifier == runtime

    def test_nvmrc_and_lock_file(self) -> None:
        found = detect({"package.json": "{}", ".nvmrc": "v22.11.0", "package-lock.json": "{}"})
        assert found.runtime.identifier == "nodejs22.x"
        assert found.version_reason == "from .nvmrc"
        assert found.lockfile == "package-lock.json"

    def test_unsupported_node_is_refused(self) -> None:
        with pytest.raises(
            BuildFailed, match=r"nodejs16.x \(from engines.node.* supported: nodejs24.x"
        ):
            detect({"package.json": json.dumps({"engines": {"node": "16"}})})


def test_nothing_recognised_says_what_was_looked_for() -> None:
    with pytest.raises(BuildFailed) as info:
        detect({"README.md": ""})
    assert "requirements.txt, pyproject.toml, Pipfile, Pipfile.lock (Python)" in info.value.message
    assert "package.json (Node.js)" in info.value.message


def test_table_platforms() -> None:
    by_id = {r.identifier: r for r in ALL_RUNTIMES}
    assert by_id["python3.11"].wheel_platform("x86_64") == "manylinux_2_17_x86_64"
    assert by_id["python3.12"].wheel_platform("arm64") == "manylinux_2_34_aarch64"
    assert [r.identifier for r in supported("node", today=TODAY)] == [
        "nodejs24.x",
        "nodejs22.x",
        "nodejs20.x",
    ]


class TestVersionSources:
    """Files that name different Pythons are warned about; pyproject.toml's constraint is
    met or the build refused (laambda/domain/requires_python.py)."""

    def test_python_version_wins_over_runtime_txt_with_a_warning(self) -> None:
        found = detect(
            {"requirements.txt": "", ".python-version": "3.12", "runtime.txt": "python-3.11"}
        )
        assert (found.runtime.identifier, found.version_reason) == (
            "python3.12",
            "from .python-version",
        )
        assert found.warnings == (
            "runtime.txt names python3.11 but .python-version names python3.12: building for "
            "python3.12 (from .python-version) and ignoring runtime.txt; delete runtime.txt "
            "(Heroku deprecated it for .python-version)",
        )

    def test_files_that_agree_say_nothing(self) -> None:
        agreeing = {
            "requirements.txt": "",
            ".python-version": "3.12.4",
            "runtime.txt": "python-3.12",
        }
        assert detect(agreeing).warnings == ()

    def test_a_pipfile_that_disagrees_is_named(self) -> None:
        files = {"Pipfile": '[requires]\npython_version = "3.13"\n', "runtime.txt": "python-3.12"}
        found = detect(files)
        assert found.runtime.identifier == "python3.12"
        assert found.warnings == (
            "Pipfile names python3.13 but runtime.txt names python3.12: building for python3.12 "
            "(from runtime.txt) and ignoring Pipfile; make Pipfile name python3.12 too",
        )

    def test_an_unreadable_ignored_file_is_named_not_fatal(self) -> None:
        found = detect({"requirements.txt": "", ".python-version": "3.12", "runtime.txt": "py3"})
        assert found.runtime.identifier == "python3.12"
        assert "ignoring runtime.txt" in found.warnings[0]

    def test_a_runtime_requires_python_excludes_is_refused_naming_both(self) -> None:
        files = {
            "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.12"\n',
            "runtime.txt": "python-3.11",
        }
        with pytest.raises(BuildFailed) as info:
            detect(files)
        assert info.value.message == (
            "pyproject.toml requires-python '>=3.12' does not admit python3.11 (from "
            "runtime.txt): name a Python version it admits in .python-version, or change the "
            "constraint"
        )

    def test_poetrys_python_constraint_counts_too(self) -> None:
        files = {
            "pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.13"\n',
            ".python-version": "3.12",
        }
        with pytest.raises(BuildFailed, match=r"\[tool.poetry.dependencies\] python '\^3.13'"):
            detect(files)
        assert detect(files, requested="python3.13").runtime.identifier == "python3.13"

    def test_a_patch_bound_admits_the_minor(self) -> None:
        files = {"pyproject.toml": '[project]\nrequires-python = ">=3.12.1"\n'}
        assert detect({**files, ".python-version": "3.12"}).runtime.identifier == "python3.12"

    def test_with_no_version_named_the_newest_it_admits_is_chosen(self) -> None:
        files = {"pyproject.toml": '[project]\nrequires-python = ">=3.11,<3.13"\n'}
        found = detect(files)
        assert found.runtime.identifier == "python3.12"
        assert found.version_reason == (
            "newest supported that pyproject.toml requires-python '>=3.11,<3.13' admits"
        )
        assert detect(files, defaults={"python": "python3.11"}).runtime.identifier == "python3.11"

    def test_a_python_version_of_only_comments_names_no_version(self) -> None:
        with pytest.raises(BuildFailed, match=r"\.python-version says '', which is not a Python"):
            detect({"requirements.txt": "", ".python-version": "# pin me\n"})

    def test_excluding_the_default_picks_the_newest_admitted_not_newer_than_it(self) -> None:
        """The local cloud's default is the newest Python the machine runs: a constraint that
        excludes it must not lead to a newer one the machine cannot run."""
        files = {"pyproject.toml": '[project]\nrequires-python = ">=3.12,!=3.13.*"\n'}
        found = detect(files, defaults={"python": "python3.13"})
        assert found.runtime.identifier == "python3.12"
        assert found.version_reason == (
            "newest supported that pyproject.toml requires-python '>=3.12,!=3.13.*' admits, "
            "not newer than the server's default python3.13"
        )
        assert detect(files).runtime.identifier == "python3.14"  # no default: the newest

    def test_a_constraint_admitting_only_newer_runtimes_picks_the_oldest_of_them(self) -> None:
        files = {"pyproject.toml": '[project]\nrequires-python = ">=3.13"\n'}
        found = detect(files, defaults={"python": "python3.12"})
        assert found.runtime.identifier == "python3.13"
        assert found.version_reason == (
            "oldest that pyproject.toml requires-python '>=3.13' admits newer than the "
            "server's default python3.12"
        )

    def test_a_constraint_that_is_not_pep_440_is_refused(self) -> None:
        with pytest.raises(BuildFailed, match="is not a version specifier"):
            detect({"pyproject.toml": '[project]\nrequires-python = "3.12+"\n'})

    def test_a_node_runtime_for_a_python_app_is_named_as_such_first(self) -> None:
        files = {"pyproject.toml": '[project]\nrequires-python = "<3.13"\n'}
        with pytest.raises(BuildFailed, match="the repository is a Python app"):
            detect(files, requested="nodejs22.x")
