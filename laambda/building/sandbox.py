"""The box a build's installer runs in: bubblewrap on the host, the same rules in a container.

What an installer (uv, pip building an sdist, npm) sees:
- an environment made here from nothing: PATH, HOME=/tmp, the system CA bundle, the proxy, and
  the variables its builder sets; never the worker's own (no LAAMBDA_*, AWS_*, PIP_*, UV_*);
- the system's programs read-only (/usr and its links, /etc/ssl, the CA certificates, the
  Python that runs uv and pip, and its virtual environment), the folders its command names
  read-write, and a private /tmp, /proc and /dev; nothing else of the host (no home folder,
  data directory, checkout or ssh keys);
- its own network, process, IPC and host-name namespaces, no capabilities, killed with its
  parent: the only way out is the egress proxy (egress.py), reached through a forwarder
  listening on the sandbox's own 127.0.0.1:3128 (HTTPS_PROXY/HTTP_PROXY point at it; uv, pip
  and npm honour them).

bubblewrap (https://github.com/containers/bubblewrap, Debian package `bubblewrap`) does the
isolation; scripts/system-tools.sh installs it.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from laambda.errors import BuildFailed

PROXY_PORT = 3128
PROXY_URL = f"http://127.0.0.1:{PROXY_PORT}"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
SOCKET_INSIDE = "/run/laambda/egress.sock"

# Listens on 127.0.0.1:PORT inside the box and relays each connection to the egress socket,
# then runs the command and exits with its status. Standard library only; run as
# `python3 -I -S -c FORWARDER PORT SOCKET COMMAND...`.
FORWARDER = """
import socket, subprocess, sys, threading
port, path, command = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
def pump(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    try:
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass
def pair(client):
    try:
        upstream = socket.socket(socket.AF_UNIX)
        upstream.connect(path)
    except OSError:
        client.close()
        return
    back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
    back.start()
    pump(client, upstream)
    back.join()
    client.close()
    upstream.close()
def serve(listener):
    while True:
        client, _ = listener.accept()
        threading.Thread(target=pair, args=(client,), daemon=True).start()
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(64)
threading.Thread(target=serve, args=(listener,), daemon=True).start()
sys.exit(subprocess.call(command))
"""

# The same forwarder for images that have Node.js but no Python:
# `node -e FORWARDER_JS PORT SOCKET COMMAND...`.
FORWARDER_JS = """
const net = require("net"), { spawn } = require("child_process");
const [port, path, ...command] = process.argv.slice(1);
const server = net.createServer((client) => {
  const upstream = net.connect(path);
  client.pipe(upstream); upstream.pipe(client);
  const stop = () => { client.destroy(); upstream.destroy(); };
  client.on("error", stop); upstream.on("error", stop);
});
server.listen(Number(port), "127.0.0.1", () => {
  const child = spawn(command[0], command.slice(1), { stdio: "inherit" });
  child.on("exit", (code, signal) => process.exit(code === null ? 128 : code));
  child.on("error", (err) => { console.error(String(err)); process.exit(127); });
});
"""

# what the installer may read of /etc: TLS roots and the files libc and Python look up
_ETC = ("ssl", "ca-certificates", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd",
        "group", "nsswitch.conf", "localtime", "alternatives", "mime.types")  # fmt: skip
_SYSTEM_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


def proxy_env(ca_bundle: str | None) -> dict[str, str]:
    """What every boxed installer is told, host or container: the proxy, the CA bundle, and
    no config files of pip, uv or npm (so none of the host's, an index URL with a password,
    say, is ever read)."""
    env = {
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "UV_NO_CONFIG": "1",
        "npm_config_userconfig": "/tmp/.npmrc",
        "npm_config_globalconfig": "/tmp/.npmrc-global",
        "npm_config_update_notifier": "false",
    }
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "npm_config_proxy",
                 "npm_config_https_proxy"):  # fmt: skip
        env[name] = PROXY_URL
    if ca_bundle is not None:
        for name in ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS",
                     "npm_config_cafile"):  # fmt: skip
            env[name] = ca_bundle
    return env


def installer_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a host installer: fixed values, the proxy, then `extra`.

    Nothing is copied from this process's environment.
    """
    env = proxy_env(str(CA_BUNDLE) if CA_BUNDLE.is_file() else None)
    env["PATH"] = f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"
    # the cache and the target are separate mounts, which hard links cannot cross
    env["UV_LINK_MODE"] = "copy"
    return env | dict(extra or {})


def _python_roots() -> list[Path]:
    """The folders of the Python that runs uv and pip: its installation and its venv."""
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)}
    roots.add(Path(sys.executable).resolve().parent.parent)
    # site-packages folders a .pth file added (never other sys.path entries: an editable
    # install puts the checkout there, with its .env)
    roots.update(
        Path(entry)
        for entry in sys.path
        if Path(entry).name in ("site-packages", "dist-packages") and Path(entry).is_dir()
    )
    return sorted(root.resolve() for root in roots)


def _read_only_roots() -> list[Path]:
    return [Path("/usr"), *(Path("/etc") / name for name in _ETC), *_python_roots()]


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


Mount = tuple[Path, Path]  # (where it is on the host, where the command sees it)


def named_folders(
    command: Sequence[str], env: Mapping[str, str], cwd: Path | None
) -> tuple[list[Mount], list[Mount]]:
    """(folders to mount read-write, files to mount read-only) that the command names.

    Every argument and environment value that is an absolute path, and the working folder:
    an existing folder is mounted read-write, an existing file read-only by itself, and a path
    that does not exist yet is made as a folder (a cache the installer will fill). Each is
    seen at the path named, whatever links lead to it on the host. Paths inside the read-only
    system folders are visible anyway and skipped.

    Raises BuildFailed when a named path is itself a symbolic link (it could lead anywhere) or
    a named folder would expose the host: the root, a home folder, or a folder holding this
    process's working directory (the checkout, with its .env).
    """
    system = _read_only_roots()
    protected = {Path("/"), Path.home().resolve(), Path("/home"), Path("/root")}
    here = Path.cwd().resolve()
    folders: list[Mount] = []
    files: list[Mount] = []
    seen: set[Path] = set()
    candidates = [*command, *env.values(), *([str(cwd)] if cwd is not None else [])]
    for text in candidates:
        if not text.startswith("/") or text == os.devnull:
            continue
        named = Path(os.path.normpath(text))
        if named in seen or _inside(named, system) or _inside(named.resolve(), system):
            continue
        seen.add(named)
        if named.is_symlink():
            raise BuildFailed(f"internal error: a build may not be given the link {named}")
        real = named.resolve()
        if real.is_file():
            files.append((real, named))
            continue
        if real in protected or real == here or real in here.parents:
            raise BuildFailed(f"internal error: a build may not be given the host folder {real}")
        real.mkdir(parents=True, exist_ok=True)
        folders.append((real, named))
    return folders, files


def system_mounts() -> list[str]:
    """bubblewrap arguments for what every box sees: /usr and its links (/bin, /lib…)
    read-only, the few /etc files programs need (_ETC), and a private /proc, /dev, /tmp and
    /run. Shared by the build sandbox and the local cloud's function sandbox."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in _SYSTEM_LINKS:
        top = Path("/") / name
        if top.is_symlink():
            args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    for name in _ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args + ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run"]


def bwrap_command(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None,
    cwd: Path | None,
    proxy_socket: Path,
) -> list[str]:
    """The bubblewrap command line that runs `command` boxed, with `installer_env(env)`.

    The folders mounted read-write are those `command`, `env` and `cwd` name (named_folders).
    Raises BuildFailed when bubblewrap is not installed.
    """
    bwrap = shutil.which("bwrap", path="/usr/local/bin:/usr/bin:/bin")
    if bwrap is None:
        raise BuildFailed(
            "the build sandbox needs bubblewrap, which is not installed on this worker: run "
            "`bash scripts/system-tools.sh` (or `apt-get install bubblewrap`)"
        )
    folders, files = named_folders(command, env or {}, cwd)
    args = [bwrap, "--die-with-parent", "--new-session", "--unshare-all", "--cap-drop", "ALL",
            "--hostname", "build", "--clearenv"]  # fmt: skip
    # the private /tmp first: a Python (or venv) living under the host's /tmp stays visible
    args += system_mounts()
    for root in _python_roots():
        if not _inside(root, [Path("/usr")]):
            args += ["--ro-bind", str(root), str(root)]
    args += ["--ro-bind", str(proxy_socket), SOCKET_INSIDE]
    for source, seen_as in folders:
        args += ["--bind", str(source), str(seen_as)]
    for source, seen_as in files:
        args += ["--ro-bind", str(source), str(seen_as)]
    args += ["--chdir", os.path.normpath(cwd) if cwd is not None else "/tmp"]
    for name, value in installer_env(env).items():
        args += ["--setenv", name, value]
    args += ["--", sys.executable, "-I", "-S", "-c", FORWARDER, str(PROXY_PORT), SOCKET_INSIDE]
    return args + list(command)
