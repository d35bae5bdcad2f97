"""pip's requirements-file syntax, read the way pip reads it, and the rules a build holds it to.

Pure: text in, data out; the caller reads the files an include names and feeds them back.
The syntax follows pip's own reader (pip/_internal/req/req_file.py, pip 26): decoding by
byte-order mark, then a PEP 263 `coding:` comment in the first two lines, then UTF-8; lines
ending in a backslash joined; `#` comments (at the start or after whitespace) removed; the
requirement part of a line is everything before the first token starting with `-`, and the rest
is parsed with optparse as pip does, including the per-line `--hash` and `--config-settings`.

The rules a build adds, because a pushed tree is untrusted input:
- every path a line names (`-r`, `-c`, `-e`, local projects, `file:` URLs, `--find-links`
  folders) stays inside the pushed tree: no absolute path, no `..` leaving it;
- every index, find-links URL and URL or VCS requirement is one the operator allows
  (LAAMBDA_ALLOWED_INDEXES), compared on path-segment boundaries after RFC 3986 normalisation
  of scheme, host and port; a URL whose path holds a `.` or `..` segment (in any spelling) or
  a backslash is refused, because installers resolve those to another address than the one
  checked; `--trusted-host` only for an allowed index's host;
- `${VAR}` is refused: pip and uv would expand it from the build host's environment;
- environment markers are evaluated for Lambda (Linux, the function's architecture, the
  runtime's Python), and a line whose marker is false there is left out.
"""

from __future__ import annotations

import codecs
import optparse
import posixpath
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NoReturn
from urllib.parse import unquote, urlsplit

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement

from laambda.domain.function import linux_machine
from laambda.errors import BuildFailed

ALLOWED_SETTING = "LAAMBDA_ALLOWED_INDEXES"

# pip's order matters: BOM_UTF16_LE is a prefix of BOM_UTF32_LE
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
_PEP263 = re.compile(rb"coding[:=]\s*([-\w.]+)")
_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{[A-Z0-9_]+\}")
_VCS = ("git", "hg", "svn", "bzr")
_URL_SCHEMES = ("http", "https", "file", *(f"{v}+{s}" for v in _VCS for s in
                ("http", "https", "ssh", "git", "file")), *_VCS)  # fmt: skip
_ARCHIVES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz", ".tar.xz", ".txz")


def decode(data: bytes, *, name: str) -> str:
    """The text of a dependency file as pip decodes it; BuildFailed where pip would guess.

    pip falls back to the build host's locale for bytes that are not UTF-8; a build refuses
    instead, because the host's locale is not the author's.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                break
    else:
        for line in data.split(b"\n")[:2]:
            found = _PEP263.search(line) if line[:1] == b"#" else None
            if found:
                try:
                    return data.decode(found[1].decode("ascii"))
                except (LookupError, UnicodeDecodeError):
                    break
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = "\0"
            if "\0" not in text:
                return text
    raise BuildFailed(
        f"{name} cannot be read as text: save it as UTF-8 (UTF-16 and UTF-32 are read only "
        "with a byte-order mark)"
    )


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first physical line number, text) of each line pip would read, comments removed."""
    joined: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.endswith("\\") and not _COMMENT.match(line):
            start = start if pending else number
            pending.append(line.strip("\\"))
            continue
        if _COMMENT.match(line):
            line = " " + line
        if pending:
            joined.append((start, "".join([*pending, line])))
            pending = []
        else:
            joined.append((number, line))
    if pending:
        joined.append((start, "".join(pending)))
    out = []
    for number, line in joined:
        line = _COMMENT.sub("", line).strip()
        if line:
            out.append((number, line))
    return out


@dataclass
class Options:
    """The options of one line, as pip's optparse reads them."""

    requirements: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    editables: list[str] = field(default_factory=list)
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    no_index: bool = False
    find_links: list[str] = field(default_factory=list)
    no_binary: list[str] = field(default_factory=list)
    only_binary: list[str] = field(default_factory=list)
    prefer_binary: bool = False
    require_hashes: bool = False
    pre: bool = False
    trusted_hosts: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    config_settings: list[str] = field(default_factory=list)


class _Parser(optparse.OptionParser):
    def error(self, msg: str) -> NoReturn:
        raise ValueError(msg)


def _parser() -> _Parser:
    parser = _Parser(add_help_option=False)
    for flags, dest, action in (
        (("-r", "--requirement"), "requirements", "append"),
        (("-c", "--constraint"), "constraints", "append"),
        (("-e", "--editable"), "editables", "append"),
        (("-i", "--index-url", "--pypi-url"), "index_url", "store"),
        (("--extra-index-url",), "extra_index_urls", "append"),
        (("--no-index",), "no_index", "store_true"),
        (("-f", "--find-links"), "find_links", "append"),
        (("--no-binary",), "no_binary", "append"),
        (("--only-binary",), "only_binary", "append"),
        (("--prefer-binary",), "prefer_binary", "store_true"),
        (("--require-hashes",), "require_hashes", "store_true"),
        (("--no-require-hashes",), "no_require_hashes", "store_true"),
        (("--pre",), "pre", "store_true"),
        (("--trusted-host",), "trusted_hosts", "append"),
        (("--use-feature",), "features", "append"),
        (("--hash",), "hashes", "append"),
        (("--config-settings",), "config_settings", "append"),
        (("--all-releases",), "all_releases", "append"),
        (("--only-final",), "only_final", "append"),
    ):
        parser.add_option(*flags, dest=dest, action=action)
    return parser


@dataclass(frozen=True)
class Line:
    """One logical line: where it is, its requirement part and its options."""

    where: str  # "requirements.txt line 3"
    args: str
    options: Options


def parse_line(text: str, *, where: str) -> Line:
    """Split a logical line into its requirement and options as pip does (break_args_options)."""
    if len(text.splitlines()) > 1 or any(ord(c) < 32 and c != "\t" for c in text):
        raise BuildFailed(f"{where}: a line break or control character inside one entry: remove it")
    variable = _ENV_VAR.search(text)
    if variable:
        raise BuildFailed(
            f"{where}: {variable[0]} (an environment variable) is not expanded in builds, "
            "because the build host's environment is not yours: write the value itself"
        )
    tokens = text.split(" ")
    args: list[str] = []
    while tokens and not tokens[0].startswith("-"):
        args.append(tokens.pop(0))
    try:
        values, extra = _parser().parse_args(shlex.split(" ".join(tokens)))
    except ValueError as exc:
        raise BuildFailed(f"{where}: {exc}; see pip's requirements file format") from None
    if extra:
        raise BuildFailed(f"{where}: '{' '.join(extra)}' after the options is not understood")
    options = Options()
    for name in options.__dataclass_fields__:
        value = getattr(values, name, None)
        if value is not None:
            setattr(options, name, value)
    return Line(where=where, args=" ".join(args), options=options)


def is_url(text: str) -> bool:
    """Whether pip reads `text` as a URL (its own list of schemes, VCS ones included)."""
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    return scheme in _URL_SCHEMES


def looks_like_path(text: str) -> bool:
    """pip's `_looks_like_path` plus its archive rule: a separator, a leading dot or an archive."""
    return "/" in text or "\\" in text or text.startswith(".") or text.lower().endswith(_ARCHIVES)


def split_marker(args: str) -> tuple[str, str | None]:
    """The requirement and its marker text; pip splits URLs on '; ' and others on ';'."""
    separator = "; " if is_url(args) else ";"
    if separator not in args:
        return args.strip(), None
    spec, marker = args.split(separator, 1)
    return spec.strip(), marker.strip() or None


def target_environment(python_version: str, architecture: str) -> dict[str, str]:
    """The PEP 508 marker environment of a Lambda runtime, e.g. ("3.12", "arm64").

    The patch level is unknown until Lambda runs it; like uv's --python-version, ".0" is assumed.
    """
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{python_version}.0",
        "os_name": "posix",
        "platform_machine": linux_machine(architecture),
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": f"{python_version}.0",
        "python_version": python_version,
        "sys_platform": "linux",
        "extra": "",
    }


def marker_holds(marker: str, environment: dict[str, str], *, where: str) -> bool:
    """Whether a marker is true on the target; BuildFailed naming the line when it is invalid."""
    try:
        return Marker(marker).evaluate(environment)
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as exc:
        raise BuildFailed(f"{where}: the marker '{marker}' is not valid: {exc}") from None


def parse_requirement(spec: str, *, where: str) -> Requirement:
    """A named requirement (`name[extras] specifier` or `name @ url`), or BuildFailed."""
    try:
        return Requirement(spec)
    except InvalidRequirement as exc:
        raise BuildFailed(f"{where}: '{spec}' is not a valid requirement: {exc}") from None


def tree_path(path: str, *, base: str, where: str, what: str) -> str:
    """The tree-relative POSIX path `path` names from folder `base`; BuildFailed if it leaves.

    Dependency files may only name what the push brought: an absolute path or a `..` that
    climbs out of the repository is refused, naming the line and the rule, never reading it.
    """
    path = path.replace("\\", "/")
    if path.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", path):
        raise BuildFailed(
            f"{where}: {what} names '{path}', an absolute path; dependency files may name only "
            "files inside the repository, by a path relative to the file (e.g. ./libs/common)"
        )
    joined = posixpath.normpath(posixpath.join(base or ".", path))
    if joined == ".." or joined.startswith("../"):
        raise BuildFailed(
            f"{where}: {what} names '{path}', which leaves the repository; dependency files may "
            "name only files inside it: move what it needs into the repository"
        )
    return joined


def shown_url(url: str) -> str:
    """A URL fit for a message: any user name or password in it replaced by ***."""
    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return url
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a URL at all: hide whatever stands before an @ all the same
        return re.sub(r"//[^/]*@", "//***@", url)
    return parts._replace(netloc=f"***@{host}{port}").geturl()


def _normal(url: str) -> tuple[str, str, int | None, str] | None:
    if url.startswith(tuple(f"{v}+" for v in _VCS)):
        url = url.split("+", 1)[1]
    if unresolved(url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return (
        parts.scheme.lower(),
        parts.hostname.lower(),
        None if port == default else port,
        parts.path.rstrip("/"),
    )


# the space, C0 controls and DEL: what the WHATWG URL parser strips or drops
_BLANK = "".join(map(chr, range(0x21))) + "\x7f"


def unresolved(url: str) -> bool:
    """Whether `url` holds a backslash, or a `.` or `..` segment in its path, in any spelling.

    RFC 3986 section 5.2.4 removes dot segments before a request is sent, and the WHATWG URL
    standard (followed by uv, npm and browsers) also reads `%2e` as `.` and, in http(s) URLs, a
    backslash as `/`, also before the host (`https://evil.example\\@pypi.org/` is a request to
    evil.example). Index servers may decode `%2f` and strip Tomcat's `;` parameters (`..;`).
    So `https://pypi.org/simple/../../evil/` is a request to https://pypi.org/evil/: a URL
    holding any of these is not compared with the allowed list at all. The path is
    percent-decoded until it no longer changes, so double encoding (`%252e`) is caught too.
    A space or a control character anywhere counts as well: the WHATWG parser strips them from
    the ends (`https://pypi.org/simple/.. ` is `/simple/..`) and drops tabs and newlines.
    """
    if "\\" in url or any(char in _BLANK for char in url):
        return True
    try:
        path = urlsplit(url).path
    except ValueError:
        return False
    for _ in range(8):
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    segments = path.replace("\\", "/").split("/")
    return any(segment.split(";", 1)[0].strip(_BLANK) in (".", "..") for segment in segments)


def url_allowed(url: str, allowed: Sequence[str]) -> bool:
    """Whether `url` is one of the allowed URLs or below one (same scheme, host, port, path
    prefix at a `/`); a VCS prefix (`git+`) is ignored, user names and passwords too. A URL
    that is `unresolved` (dot segments, backslashes) is never allowed."""
    wanted = _normal(url)
    if wanted is None:
        return False
    for entry in allowed:
        base = _normal(entry)
        if base is None or base[:3] != wanted[:3]:
            continue
        if wanted[3] == base[3] or wanted[3].startswith(base[3] + "/"):
            return True
    return False


def check_url(url: str, allowed: Sequence[str], *, where: str, what: str) -> None:
    """BuildFailed naming the setting when `url` is not below an allowed index, or saying
    why when it holds dot segments or a backslash (see `unresolved`)."""
    if unresolved(url):
        raise BuildFailed(
            f"{where}: {what} {shown_url(url)} holds a '.' or '..' path segment or a backslash "
            "(also when percent-encoded), a space or a control character, which installers "
            "resolve to another address than the one written, so it cannot be checked against "
            "the allowed package sources: write "
            "the address without them, e.g. https://pypi.org/simple/"
        )
    if not url_allowed(url, allowed):
        raise BuildFailed(
            f"{where}: {what} {shown_url(url)} is not an allowed package source; builds may "
            f"fetch only from {ALLOWED_SETTING} ({', '.join(allowed) or 'none'}): use a package "
            f"from those, or ask the operator to add the address to {ALLOWED_SETTING}"
        )


def check_trusted_host(host: str, allowed: Sequence[str], *, where: str) -> None:
    """`--trusted-host` turns off TLS checks: only the host of an allowed index may be named."""
    hosts = {(_normal(a) or ("", "", None, ""))[1] for a in allowed}
    if host.split(":", 1)[0].lower() not in hosts:
        raise BuildFailed(
            f"{where}: --trusted-host {host} is not the host of an index in {ALLOWED_SETTING}; "
            "remove the line"
        )
