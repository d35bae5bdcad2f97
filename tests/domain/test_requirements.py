"""pip's requirements syntax and the rules a build holds it to, as pure functions."""

from __future__ import annotations

import pytest

from laambda.domain.dependency_set import DependencySet, LocalProject
from laambda.domain.requirements import (
    check_url,
    decode,
    logical_lines,
    parse_line,
    shown_url,
    split_marker,
    target_environment,
    tree_path,
    url_allowed,
)
from laambda.errors import BuildFailed

ALLOWED = ["https://pypi.org/simple", "https://registry.npmjs.org", "https://github.com/acme"]


class TestSyntax:
    def test_logical_lines_join_continuations_and_drop_comments(self) -> None:
        text = "# top\nsix \\\n  --hash=sha256:a\nattrs # pinned later\n\nurl#frag\n"
        assert logical_lines(text) == [(2, "six   --hash=sha256:a"), (4, "attrs"), (6, "url#frag")]

    def test_options_after_the_requirement_only(self) -> None:
        line = parse_line("pkg[x]>=1 ; python_version >= '3' --hash=sha256:a", where="r line 1")
        assert line.args == "pkg[x]>=1 ; python_version >= '3'"
        assert line.options.hashes == ["sha256:a"]

    def test_unknown_option_names_the_line(self) -> None:
        with pytest.raises(BuildFailed, match="^r line 4: no such option: --frobnicate"):
            parse_line("--frobnicate", where="r line 4")

    @pytest.mark.parametrize("text", ["six\n--index-url http://evil", "six\r", "a\u2028b"])
    def test_an_entry_holding_a_line_break_is_refused(self, text: str) -> None:
        with pytest.raises(BuildFailed, match="^Pipfile \\[packages\\] x: a line break"):
            parse_line(text, where="Pipfile [packages] x")

    def test_url_markers_split_on_semicolon_space_as_pip_does(self) -> None:
        assert split_marker("https://x/a;b.whl ; os_name == 'posix'") == (
            "https://x/a;b.whl",
            "os_name == 'posix'",
        )
        assert split_marker("six;python_version<'3'") == ("six", "python_version<'3'")

    def test_decode_utf32_before_utf16(self) -> None:
        assert decode("\ufeffsix\n".encode("utf-32-le"), name="r") == "six\n"


class TestRules:
    @pytest.mark.parametrize(
        ("url", "ok"),
        [
            ("https://pypi.org/simple", True),
            ("https://pypi.org/simple/", True),
            ("https://PYPI.org:443/simple/six/", True),
            ("https://user:pw@pypi.org/simple", True),
            ("http://pypi.org/simple", False),
            ("https://pypi.org/simplex", False),
            ("https://pypi.org.evil.example/simple", False),
            ("https://pypi.org:8443/simple", False),
            ("git+https://github.com/acme/tool@v1", True),
            ("git+https://github.com/acmecorp/tool", False),
            ("git+ssh://git@github.com/acme/tool", False),
            ("file:///etc/passwd", False),
            ("not a url", False),
        ],
    )
    def test_url_allowed(self, url: str, ok: bool) -> None:
        assert url_allowed(url, ALLOWED) is ok

    @pytest.mark.parametrize(
        "url",
        [
            "https://pypi.org/simple/../../evil/",
            "https://pypi.org/simple/..",
            "https://pypi.org/simple/./../evil/",
            "https://pypi.org/simple/%2e%2e/%2E%2E/evil/",
            "https://pypi.org/simple/.%2e/evil/",
            "https://pypi.org/simple/%252e%252e/evil/",
            "https://pypi.org/simple/..%2f..%2fevil/",
            "https://pypi.org/simple/..\\..\\evil/",
            "https://pypi.org/simple/..%5cevil/",
            "https://pypi.org/simple/..;/..;/evil/",
            "https://evil.example\\@pypi.org/simple",
            "HTTPS://PYPI.ORG:443/simple/../evil",
            "https://corp.example/api/pypi/team-a/simple/../../team-b/simple",
            "https://corp.example/api/pypi/team-a/simple/%2e%2e/%2e%2e/team-b/simple/",
            "git+https://github.com/acme/../evil/tool@v1",
            "https://pypi.org/simple\t/../evil/",
            "https://pypi.org/simple/.. ",
            "https://pypi.org/simple/..\x01",
            "https://pypi.org/simple/..%00",
            "https://pypi.org/simpleevil/",
            "https://pypi.org/simple@evil.example/simple",
            "https://pypi.org/api/pypi/team-a/simple-b/",
        ],
    )
    def test_hostile_urls_are_refused(self, url: str) -> None:
        allowed = [*ALLOWED, "https://corp.example/api/pypi/team-a/simple"]
        assert url_allowed(url, allowed) is False

    @pytest.mark.parametrize(
        "url",
        [
            "https://corp.example/api/pypi/team-a/simple",
            "https://CORP.example:443/api/pypi/team-a/simple/six/",
            "https://me:pw@corp.example/api/pypi/team-a/simple/",
            "https://pypi.org/simple/six/six-1.0.tar.gz",
            "https://pypi.org/simple/a...b/",
            "https://registry.npmjs.org/@scope/x/-/x-1.0.0.tgz",
            "git+https://github.com/acme/tool.git@v1.2#egg=tool",
        ],
    )
    def test_legitimate_urls_are_allowed(self, url: str) -> None:
        allowed = [*ALLOWED, "https://corp.example/api/pypi/team-a/simple"]
        assert url_allowed(url, allowed) is True

    def test_a_dot_segment_is_refused_saying_why(self) -> None:
        with pytest.raises(BuildFailed) as info:
            check_url(
                "https://me:pw@pypi.org/simple/%2e%2e/evil/",
                ALLOWED,
                where="requirements.txt line 1",
                what="the index",
            )
        assert info.value.message == (
            "requirements.txt line 1: the index https://***@pypi.org/simple/%2e%2e/evil/ holds "
            "a '.' or '..' path segment or a backslash (also when percent-encoded), a space or "
            "a control character, which installers resolve to another address than the one "
            "written, so it cannot be "
            "checked against the allowed package sources: write the address without them, "
            "e.g. https://pypi.org/simple/"
        )

    def test_shown_url_hides_credentials(self) -> None:
        assert shown_url("https://me:pw@corp.example:8080/simple") == (
            "https://***@corp.example:8080/simple"
        )
        assert shown_url("https://me:pw@[corp/simple") == "https://***@[corp/simple"

    @pytest.mark.parametrize(
        "text", ["git+https://*]", "http://%! (,>>[x]", "git+https://-c @cfile:b", "http://=]0["]
    )
    def test_malformed_urls_are_refused_not_crashed_on(self, text: str) -> None:
        deps = DependencySet("3.12", "x86_64", ALLOWED)
        with pytest.raises(BuildFailed, match="^requirements.txt line 1: "):
            deps.add_file(text, name="requirements.txt")

    @pytest.mark.parametrize(
        ("path", "base", "expected"),
        [("common.txt", "reqs", "reqs/common.txt"), ("../x", "a/b", "a/x"), (".", "", ".")],
    )
    def test_tree_path_inside(self, path: str, base: str, expected: str) -> None:
        assert tree_path(path, base=base, where="w", what="-r") == expected

    @pytest.mark.parametrize("path", ["/etc/passwd", "~/x", "C:\\\\x", "../x", "a/../../x"])
    def test_tree_path_outside(self, path: str) -> None:
        with pytest.raises(BuildFailed, match="^w: -r names"):
            tree_path(path, base="", where="w", what="-r")

    def test_target_environment_is_lambda(self) -> None:
        env = target_environment("3.12", "arm64")
        assert (env["sys_platform"], env["platform_machine"], env["python_full_version"]) == (
            "linux",
            "aarch64",
            "3.12.0",
        )


class TestDependencySet:
    def test_render_is_self_contained(self) -> None:
        deps = DependencySet("3.12", "x86_64", ALLOWED)
        deps.add_file("./lib[x] ; os_name == 'posix'\nsix\n", name="requirements.txt")
        assert deps.requirements[0] == LocalProject(
            "lib", "[x]", "os_name == 'posix'", "requirements.txt line 1"
        )
        text, constraints = deps.render({"lib": "./local/0-lib"}, default_index=ALLOWED[0])
        assert text == (
            "--index-url https://pypi.org/simple\n"
            "./local/0-lib[x] ; os_name == 'posix'  # requirements.txt line 1\n"
            "six  # requirements.txt line 2\n"
        )
        assert constraints == ""

    def test_includes_are_returned_relative_to_the_including_file(self) -> None:
        deps = DependencySet("3.12", "x86_64", ALLOWED)
        includes = deps.add_file("-r base.txt\n-c ../c.txt\n", name="reqs/prod.txt")
        assert [(i.path, i.constraint) for i in includes] == [
            ("reqs/base.txt", False),
            ("c.txt", True),
        ]

    def test_invalid_requirement_names_the_line(self) -> None:
        deps = DependencySet("3.12", "x86_64", ALLOWED)
        with pytest.raises(BuildFailed, match="^requirements.txt line 2: 'six==' is not a valid"):
            deps.add_file("attrs\nsix==\n", name="requirements.txt")
