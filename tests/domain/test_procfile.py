from __future__ import annotations

import pytest

from laambda.domain.procfile import check_handlers, handler_files, parse_procfile
from laambda.errors import BuildFailed


class TestParse:
    def test_entries_in_order_with_comments_and_blank_lines(self) -> None:
        text = "# functions\n\ncreate: CreateThumbnail.handler\n  resize:images.resize.run  \n"
        procfile = parse_procfile(text, app_name="thumbs")
        assert procfile.as_dict() == {
            "create": "CreateThumbnail.handler",
            "resize": "images.resize.run",
        }
        assert [e.line for e in procfile.entries] == [3, 4]

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("create CreateThumbnail.handler", "line 1: 'create CreateThumbnail.handler' is not"),
            ("Create: a.handler", "line 1: the name 'Create' may hold only lowercase"),
            ("web: handler", "line 1: the handler 'handler' is not 'package.module.function'"),
            ("web: a..b", "the handler 'a..b' is not"),
            ("web: 1mod.handler", "the handler '1mod.handler' is not"),
            ("a: x.h\n\na: y.h", "line 3: the name 'a' is already used on line 1"),
            ("# nothing\n", "declares no function"),
            ("release: tasks.migrate", "declares no function: 'release' (line 1) is the release"),
        ],
    )
    def test_bad_lines_name_the_line_and_show_a_correct_one(self, text: str, expected: str) -> None:
        with pytest.raises(BuildFailed) as info:
            parse_procfile(text, app_name="thumbs")
        assert expected in info.value.message

    def test_a_byte_order_mark_and_crlf_line_ends_are_read_fine(self) -> None:
        text = "\ufeffcreate: CreateThumbnail.handler\r\nresize: images.resize.run\r\n"
        procfile = parse_procfile(text, app_name="thumbs")
        assert procfile.as_dict() == {
            "create": "CreateThumbnail.handler",
            "resize": "images.resize.run",
        }

    @pytest.mark.parametrize(
        ("text", "shown"),
        [
            ("cre\u200bate: a.handler", "the name 'cre\\u200bate' may hold only"),
            ("web: a.hand\u00a0ler", "the handler 'a.hand\\xa0ler' is not"),
            ("web\x07 a.handler", "line 1: 'web\\x07 a.handler' is not 'name: module.function'"),
            ("x: y.z\n\ufeffweb: a.handler", "line 2: the name '\\ufeffweb' may hold only"),
        ],
    )
    def test_invisible_characters_are_shown_escaped(self, text: str, shown: str) -> None:
        with pytest.raises(BuildFailed) as info:
            parse_procfile(text, app_name="thumbs")
        assert shown in info.value.message

    def test_bad_line_message_shows_an_example(self) -> None:
        with pytest.raises(BuildFailed, match="create: CreateThumbnail.handler"):
            parse_procfile("oops", app_name="thumbs")

    def test_function_name_must_fit_lambdas_64_characters(self) -> None:
        app = "a" * 50
        parse_procfile(f"{'b' * 13}: m.h", app_name=app)  # 50 + 1 + 13 = 64
        with pytest.raises(BuildFailed) as info:
            parse_procfile(f"{'b' * 14}: m.h", app_name=app)
        assert "is 65 characters long; Lambda allows 64" in info.value.message
        assert "at most 13 characters" in info.value.message

    def test_node_handlers_may_use_paths(self) -> None:
        procfile = parse_procfile("api: src/index.handler", app_name="web", language="node")
        entry = procfile.entries[0]
        assert handler_files(entry, language="node") == (
            "src/index.js",
            "src/index.mjs",
            "src/index.cjs",
        )

    def test_the_build_log_names_the_release_phase_apart_from_the_functions(self) -> None:
        text = "create: api.create\nresize: api.resize\nrelease: api.release\n"
        assert parse_procfile(text, app_name="shop").declared() == (
            "2 function(s): create, resize, and a release phase: api.release"
        )
        assert parse_procfile("create: api.create", app_name="shop").declared() == (
            "1 function(s): create"
        )


class TestHandlers:
    def test_dotted_modules_map_to_package_files(self) -> None:
        procfile = parse_procfile("resize: images.resize.run", app_name="thumbs")
        check_handlers(procfile, {"images/resize.py"}, language="python")
        check_handlers(procfile, {"images/resize/__init__.py"}, language="python")

    def test_missing_module_names_the_line_and_the_file(self) -> None:
        procfile = parse_procfile("\ncreate: CreateThumbnail.handler", app_name="thumbs")
        with pytest.raises(BuildFailed) as info:
            check_handlers(procfile, {"Other.py"}, language="python")
        assert info.value.message.startswith("Procfile line 2: the handler")
        assert "CreateThumbnail.py or CreateThumbnail/__init__.py" in info.value.message
