"""A host installer runs boxed: no worker secret, no host file, no network but allowed hosts.

Everything here runs real processes in the real sandbox (bubblewrap) with the real egress
proxy; the installs reach the real package index through it.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from laambda.building.builders.base import run_streaming
from laambda.building.egress import EgressPolicy
from laambda.building.pipeline import build_source
from laambda.config import Settings
from laambda.errors import BuildFailed
from tests.support.archives import tar_of
from tests.support.build import ROOT, BuildFn, Listener

PYPI = EgressPolicy.of(["pypi.org", "files.pythonhosted.org"])


def run(
    script: str,
    *,
    folder: Path,
    egress: EgressPolicy = PYPI,
    env: dict[str, str] | None = None,
    as_written: bool = False,
) -> tuple[int, list[str]]:
    """Run a Python script as a build's installer would be run, in `folder`; the log lines,
    or with `as_written` the script's output as written (the log hides the server's paths)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    code, written = run_streaming(
        [sys.executable, "-c", textwrap.dedent(script)],
        log=lines.append,
        cancel=None,
        timeout=120,
        env=env,
        cwd=folder,
        egress=egress,
    )
    return code, written if as_written else lines


@pytest.mark.slow  # a build
def test_an_sdist_build_sees_no_worker_secret_and_no_host_file(
    worker_secrets: dict[str, str], tmp_path: Path
) -> None:
    outside = tmp_path / "outside" / "other-app-secret.txt"
    outside.parent.mkdir()
    outside.write_text("another app's source")
    project = tmp_path / "build" / "evil"
    project.mkdir(parents=True)
    # a package's setup.py is the package author's code, run by pip on the build host
    (project / "setup.py").write_text(
        textwrap.dedent(f"""
            import os
            from setuptools import setup
            print("ENVIRONMENT", dict(os.environ))
            print("ENVIRON FILE", open("/proc/self/environ").read())
            for path in [{str(outside)!r}, {str(ROOT / ".env")!r}]:
                try:
                    print("READ", path, open(path).read())
                except OSError as exc:
                    print("REFUSED", path, type(exc).__name__)
            setup(name="evil", version="1.0", py_modules=[])
        """)
    )
    lines: list[str] = []
    code, written = run_streaming(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-cache-dir",
         "-w", str(tmp_path / "build" / "wheels"), str(project)],
        log=lines.append, cancel=None, timeout=300, egress=PYPI,
    )  # fmt: skip
    text = "\n".join(lines)
    assert code == 0, text
    assert "ENVIRONMENT" in text
    assert "ENVIRON FILE" in text
    assert [p.name for p in (tmp_path / "build" / "wheels").iterdir()] == [
        "evil-1.0-py3-none-any.whl"
    ]
    for value in worker_secrets.values():
        assert value not in text
    for name in ("LAAMBDA_", "AWS_", "PIP_INDEX_URL", "UV_INDEX_URL", "DATABASE"):
        assert name not in text
    assert "another app's source" not in text
    assert "READ " not in text
    # the paths tried, as the build wrote them (the pusher's log hides the server's paths)
    written_text = "\n".join(written)
    assert f"REFUSED {outside} FileNotFoundError" in written_text
    assert f"REFUSED {ROOT / '.env'} FileNotFoundError" in written_text
    assert "READ " not in written_text


def test_only_the_named_folders_are_visible_and_writable(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "builds" / "other").mkdir(parents=True)
    (data_dir / "builds" / "other" / "app.py").write_text("secret = 1")
    folder = data_dir / "builds" / "mine"
    code, lines = run(
        f"""
        import os
        open("made-here.txt", "w").write("ok")
        paths = ["{data_dir}/builds/other/app.py", "/root/.ssh", "/etc/shadow", "{ROOT}/laambda"]
        for path in paths:
            print(path, "visible" if os.path.exists(path) else "absent")
        try:
            open("/usr/evil", "w")
        except OSError as exc:
            print("/usr", type(exc).__name__)
        """,
        folder=folder,
        as_written=True,
    )
    assert code == 0, lines
    assert (folder / "made-here.txt").read_text() == "ok"
    assert [line.strip() for line in lines] == [
        f"{data_dir}/builds/other/app.py absent",
        "/root/.ssh absent",
        "/etc/shadow absent",
        f"{ROOT}/laambda absent",
        "/usr OSError",
    ]


def test_loopback_is_unreachable_directly_and_through_the_proxy(
    listener: Listener, tmp_path: Path
) -> None:
    # even a policy that names the listener's address refuses it: loopback is forbidden
    names_loopback = EgressPolicy.of(
        ["pypi.org", f"127.0.0.1:{listener.port}", f"localhost:{listener.port}"]
    )
    code, lines = run(
        f"""
        import socket, urllib.request
        for address in [("127.0.0.1", {listener.port}), ("169.254.169.254", 80)]:
            try:
                socket.create_connection(address, timeout=3)
                print("direct", address, "connected")
            except OSError as exc:
                print("direct", address, "failed", type(exc).__name__)
        for url in ["http://127.0.0.1:{listener.port}/", "http://localhost:{listener.port}/",
                    "http://169.254.169.254/latest/meta-data/", "https://example.org/"]:
            try:
                urllib.request.urlopen(url, timeout=10)
                print("proxied", url, "reached")
            except OSError as exc:
                print("proxied", url, "failed", exc)
        """,
        folder=tmp_path / "build",
        egress=names_loopback,
    )
    text = "\n".join(lines)
    assert code == 0, text
    assert listener.accepted == 0
    assert "connected" not in text
    assert "reached" not in text
    refusals = [line for line in lines if line.startswith(" !     Build egress refused:")]
    assert refusals == [
        f" !     Build egress refused: GET http://127.0.0.1:{listener.port}/: 127.0.0.1 "
        "resolves only to forbidden addresses: 127.0.0.1 is in the forbidden range "
        "127.0.0.0/8 (allow a network with LAAMBDA_BUILD_EGRESS_NETWORKS)",
        f" !     Build egress refused: GET http://localhost:{listener.port}/: localhost "
        "resolves only to forbidden addresses: 127.0.0.1 is in the forbidden range "
        "127.0.0.0/8 (allow a network with LAAMBDA_BUILD_EGRESS_NETWORKS)",
        " !     Build egress refused: GET http://169.254.169.254/latest/meta-data/: "
        "169.254.169.254:80 is not an allowed package host (add it to "
        "LAAMBDA_BUILD_EGRESS_HOSTS)",
        " !     Build egress refused: CONNECT example.org:443: example.org:443 is not an "
        "allowed package host (add it to LAAMBDA_BUILD_EGRESS_HOSTS)",
    ]


def test_an_allowed_network_is_reached_through_the_proxy(
    listener: Listener, tmp_path: Path
) -> None:
    """The operator's allowance works, so the refusals above are the policy's doing."""
    allowed = EgressPolicy.of([f"127.0.0.1:{listener.port}"], ["127.0.0.0/8"])
    code, lines = run(
        f"""
        import urllib.request
        print(urllib.request.urlopen("http://127.0.0.1:{listener.port}/", timeout=10).read())
        """,
        folder=tmp_path / "build",
        egress=allowed,
    )
    assert (code, lines) == (0, ["       b'reached'"])
    assert listener.accepted == 1


def test_a_requirements_file_naming_the_process_environment_leaks_nothing(
    worker_secrets: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    files = {
        "requirements.txt": "-r /proc/self/environ\n",
        "Procfile": "a: app.handler\n",
        "app.py": "def handler(e, c):\n    return 1\n",
        ".python-version": "3.12\n",
    }
    lines: list[str] = []
    with pytest.raises(BuildFailed) as info:
        build_source(
            tar_of(files, tmp_path / "src.tar"),
            app_name="leak",
            workdir=tmp_path / "work",
            settings=settings,
            store=None,
            log=lines.append,
        )
    text = "\n".join([*lines, info.value.message])
    for value in worker_secrets.values():
        assert value not in text
    assert "LAAMBDA_" not in text
    assert "AWS_" not in text


def test_pypi_install_through_the_proxy_works(build: BuildFn, tmp_path: Path) -> None:
    files = {
        "requirements.txt": "six==1.17.0\n",
        "Procfile": "a: app.handler\n",
        "app.py": "import six\n\ndef handler(e, c):\n    return six.PY3\n",
        ".python-version": "3.12\n",
    }
    done = build(tar_of(files, tmp_path / "src.tar"))
    assert "-----> Installed 1 package" in done.lines
    assert not [line for line in done.lines if "refused" in line]


@pytest.mark.parametrize("named", [Path.home(), Path("/"), ROOT, ROOT.parent])
def test_a_command_never_gets_a_host_folder(named: Path) -> None:
    with pytest.raises(BuildFailed, match=f"may not be given the host folder {named}$"):
        run_streaming(["ls", str(named)], log=print, cancel=None, timeout=30, egress=PYPI)


def test_a_linked_folder_is_seen_where_it_is_named_and_a_named_link_is_refused(
    tmp_path: Path,
) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "data").symlink_to(real)  # a data directory behind a link, as operators do
    code, lines = run("print(open('made.txt', 'w').write('ok'))", folder=tmp_path / "data" / "b")
    assert (code, (real / "b" / "made.txt").read_text()) == (0, "ok"), lines
    (real / "b" / "requirements.txt").symlink_to("/etc/hostname")
    with pytest.raises(BuildFailed, match="may not be given the link .*/requirements.txt$"):
        run_streaming(
            ["cat", str(real / "b" / "requirements.txt")],
            log=print, cancel=None, timeout=30, egress=PYPI,
        )  # fmt: skip
