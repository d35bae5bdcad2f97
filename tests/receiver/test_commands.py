"""What a client may ask over ssh: git's two pack commands for one app, parsed without a shell."""

from __future__ import annotations

import pytest

from laambda.receiver.commands import CommandRefused, GitCommand, parse_command


class TestAccepted:
    @pytest.mark.parametrize(
        ("command", "expected"),
        [
            ("git-receive-pack 'thumbs'", GitCommand("git-receive-pack", "thumbs")),
            # ssh://git@host:2222/thumbs.git sends the leading slash and the suffix
            ("git-receive-pack '/thumbs.git'", GitCommand("git-receive-pack", "thumbs")),
            ("git-upload-pack '/thumbs'", GitCommand("git-upload-pack", "thumbs")),
            ("git-upload-pack thumbs-2", GitCommand("git-upload-pack", "thumbs-2")),
            # a pipeline's repository: ssh://git@host:2222/pipelines/shop
            (
                "git-receive-pack '/pipelines/shop'",
                GitCommand("git-receive-pack", "shop", pipeline=True),
            ),
            (
                "git-upload-pack 'pipelines/shop.git'",
                GitCommand("git-upload-pack", "shop", pipeline=True),
            ),
        ],
    )
    def test_pack_commands_for_one_app(self, command: str, expected: GitCommand) -> None:
        assert parse_command(command) == expected

    def test_only_receive_pack_pushes(self) -> None:
        assert parse_command("git-receive-pack 'a-b'").pushes
        assert not parse_command("git-upload-pack 'a-b'").pushes


class TestRefused:
    @pytest.mark.parametrize(
        ("command", "says"),
        [
            ("", "'(nothing)' is not allowed here"),
            ("ls -la", "'ls' is not allowed here"),
            ("sh -c 'git-receive-pack thumbs'", "'sh' is not allowed here"),
            ("git-upload-archive 'thumbs'", "'git-upload-archive' is not allowed here"),
            ("git-receive-pack", "git-receive-pack takes one app"),
            ("git-receive-pack 'thumbs'; rm -rf /", "git-receive-pack takes one app"),
            ("git-receive-pack 'thumbs' extra", "git-receive-pack takes one app"),
            ("git-receive-pack 'thumbs", "cannot read the command"),
            ("git-receive-pack 'other/thumbs'", "'other/thumbs' is not an app"),
            ("git-receive-pack '../thumbs'", "'../thumbs' is not an app"),
            ("git-receive-pack '..'", "'..' is not an app"),
            ("git-receive-pack 'pipelines/a/b'", "'pipelines/a/b' is not an app"),
            ("git-receive-pack 'pipelines/../x'", "'pipelines/../x' is not an app"),
            ("git-receive-pack 'pipelines/Shop'", "'Shop' is not a valid pipeline name"),
            ("git-receive-pack 'Thumbs'", "'Thumbs' is not a valid app name"),
            ("git-receive-pack 'thumbs$(id)'", "'thumbs$(id)' is not a valid app name"),
            ("git-receive-pack 'th--umbs'", "no two dashes in a row"),
            ("git-receive-pack '~thumbs'", "'~thumbs' is not a valid app name"),
        ],
    )
    def test_anything_else_is_refused_with_a_reason(self, command: str, says: str) -> None:
        with pytest.raises(CommandRefused) as refused:
            parse_command(command)
        assert says in str(refused.value)

    def test_the_usage_line_shows_how_to_push(self) -> None:
        with pytest.raises(CommandRefused, match="git push ssh://git@HOST:PORT/APP main"):
            parse_command("bash")
