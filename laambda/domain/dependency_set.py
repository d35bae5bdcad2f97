"""What a Python app asks to install, gathered from its dependency files and checked, as data.

Pure: the caller feeds lines (from requirements files, or lines made from Pipfile.lock,
poetry.lock, pyproject.toml or `uv export`), resolves the includes this returns by reading the
files they name, and finally renders one self-contained requirements.txt for the builders.
Every rule of `laambda.domain.requirements` is applied here, line by line, before anything runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from laambda.domain.requirements import (
    Line,
    check_trusted_host,
    check_url,
    is_url,
    logical_lines,
    looks_like_path,
    marker_holds,
    parse_line,
    parse_requirement,
    shown_url,
    split_marker,
    target_environment,
    tree_path,
)
from laambda.errors import BuildFailed

MAX_INCLUDE_DEPTH = 16


@dataclass(frozen=True)
class Entry:
    """A requirement line to write as it is (with its per-line options)."""

    text: str
    where: str


@dataclass(frozen=True)
class LocalProject:
    """A project or archive inside the pushed tree, installed from there (never editable)."""

    path: str  # tree-relative POSIX path
    extras: str  # "" or "[a,b]"
    marker: str | None
    where: str


@dataclass(frozen=True)
class Include:
    """A file a `-r` or `-c` line asks to read, relative to the tree's root."""

    path: str
    constraint: bool
    where: str
    chain: tuple[str, ...]  # the files that included it, outermost first


@dataclass
class DependencySet:
    """The requirements, constraints and index options of one build, checked as they come."""

    python_version: str  # "3.12"
    architecture: str  # "x86_64" | "arm64"
    allowed: Sequence[str]  # the operator's LAAMBDA_ALLOWED_INDEXES
    requirements: list[Entry | LocalProject] = field(default_factory=list)
    constraints: list[Entry | LocalProject] = field(default_factory=list)
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)  # URLs
    local_find_links: list[tuple[str, str]] = field(default_factory=list)  # (folder, where)
    trusted_hosts: list[str] = field(default_factory=list)
    only_binary: list[str] = field(default_factory=list)
    no_binary: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # --no-index, --pre, --prefer-binary, ...
    skipped: list[str] = field(default_factory=list)  # log lines for lines left out

    def add_file(
        self,
        text: str,
        *,
        name: str,
        constraint: bool = False,
        chain: tuple[str, ...] = (),
    ) -> list[Include]:
        """Read one requirements file's text (`name` tree-relative, included through `chain`);
        the includes it names. A file may be included twice, but not from itself (as pip)."""
        if name in chain:
            raise BuildFailed(
                f"{name} includes itself (through {' -> '.join([*chain, name])}): remove the loop"
            )
        if len(chain) >= MAX_INCLUDE_DEPTH:
            raise BuildFailed(f"{name}: includes nest more than {MAX_INCLUDE_DEPTH} deep")
        base = name.rpartition("/")[0]
        includes = []
        for number, text_line in logical_lines(text):
            line = parse_line(text_line, where=f"{name} line {number}")
            found = self.add_line(line, base=base, constraint=constraint)
            includes += [Include(i.path, i.constraint, i.where, (*chain, name)) for i in found]
        return includes

    def add_line(self, line: Line, *, base: str = "", constraint: bool = False) -> list[Include]:
        """Take one parsed line; `base` is the folder of its file, for its includes."""
        options, where = line.options, line.where
        includes = []
        for kind, paths in (("-r", options.requirements), ("-c", options.constraints)):
            for path in paths:
                if is_url(path):
                    raise BuildFailed(
                        f"{where}: {kind} {shown_url(path)} names a URL; include only files of the "
                        "repository, by a path relative to the including file"
                    )
                relative = tree_path(path, base=base, where=where, what=kind)
                includes.append(Include(relative, kind == "-c" or constraint, where, ()))
        self._options(line, base)
        target = self.constraints if constraint else self.requirements
        for spec in [*options.editables, *([line.args] if line.args else [])]:
            entry = self._requirement(spec, line)
            if entry is not None:
                target.append(entry)
        return includes

    def _options(self, line: Line, base: str) -> None:
        options, where = line.options, line.where
        if options.index_url:
            check_url(options.index_url, self.allowed, where=where, what="the index")
            self.index_url = options.index_url
        for url in options.extra_index_urls:
            check_url(url, self.allowed, where=where, what="the index")
            self.extra_index_urls.append(url)
        for link in options.find_links:
            if is_url(link) and not link.lower().startswith("file:"):
                check_url(link, self.allowed, where=where, what="--find-links")
                self.find_links.append(link)
            else:
                path = tree_path(_file_url_path(link), base=base, where=where, what="--find-links")
                self.local_find_links.append((path, where))
        for host in options.trusted_hosts:
            check_trusted_host(host, self.allowed, where=where)
            self.trusted_hosts.append(host)
        self.only_binary += options.only_binary
        self.no_binary += options.no_binary
        for flag, on in (
            ("--no-index", options.no_index),
            ("--pre", options.pre),
            ("--prefer-binary", options.prefer_binary),
            ("--require-hashes", options.require_hashes),
        ):
            if on and flag not in self.flags:
                self.flags.append(flag)

    def _requirement(self, spec_text: str, line: Line) -> Entry | LocalProject | None:
        where = line.where
        spec, marker = split_marker(spec_text)
        if marker and not marker_holds(marker, self.environment, where=where):
            self.skipped.append(
                f'{where}: {spec} left out: its marker "{marker}" is false on Lambda '
                f"(Linux {self.architecture}, Python {self.python_version})"
            )
            return None
        suffix = "".join(f" --hash={h}" for h in line.options.hashes)
        suffix += "".join(f" --config-settings={c}" for c in line.options.config_settings)
        marker_text = f" ; {marker}" if marker else ""
        if is_url(spec):
            if spec.lower().startswith("file:"):
                return self._local(_file_url_path(spec), "", marker, where)
            check_url(spec, self.allowed, where=where, what="the URL")
            return Entry(f"{spec}{marker_text}{suffix}", where)
        named = "@" in spec and not looks_like_path(spec.split("@", 1)[0])
        if looks_like_path(spec) and not named:
            path, extras = _strip_extras(spec)
            return self._local(path, extras, marker, where)
        requirement = parse_requirement(spec, where=where)
        if requirement.url:
            if requirement.url.lower().startswith("file:"):
                extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
                return self._local(_file_url_path(requirement.url), extras, marker, where)
            check_url(requirement.url, self.allowed, where=where, what="the URL")
        return Entry(f"{spec}{marker_text}{suffix}", where)

    def _local(self, path: str, extras: str, marker: str | None, where: str) -> LocalProject:
        # pip and uv read a local path from the folder they run in: the repository's root
        relative = tree_path(path, base="", where=where, what="the local project")
        return LocalProject(relative, extras, marker, where)

    @property
    def environment(self) -> dict[str, str]:
        return target_environment(self.python_version, self.architecture)

    @property
    def declares_any(self) -> bool:
        return bool(self.requirements)

    def local_paths(self) -> dict[str, str]:
        """Tree path -> the first line naming it, for local projects and find-links folders."""
        entries = (*self.requirements, *self.constraints)
        named = [(e.path, e.where) for e in entries if isinstance(e, LocalProject)]
        paths: dict[str, str] = {}
        for path, where in [*named, *self.local_find_links]:
            paths.setdefault(path, where)
        return paths

    def render(self, placed: Mapping[str, str], *, default_index: str) -> tuple[str, str]:
        """(requirements.txt, constraints.txt) for the builders; `placed` maps each local
        path to where it was copied, relative to the spec folder (e.g. "./local/0-common")."""
        index = self.index_url or default_index
        lines = [f"--index-url {index}" if index else "--no-index"]
        lines += [f"--extra-index-url {url}" for url in self.extra_index_urls]
        lines += [f"--find-links {url}" for url in self.find_links]
        lines += [f"--find-links {placed[path]}" for path, _ in self.local_find_links]
        lines += [f"--trusted-host {host}" for host in self.trusted_hosts]
        lines += [f"--only-binary {value}" for value in self.only_binary]
        lines += [f"--no-binary {value}" for value in self.no_binary]
        lines += self.flags
        if self.constraints:
            lines.append("-c constraints.txt")
        lines += [_render(entry, placed) for entry in self.requirements]
        constraints = [_render(entry, placed) for entry in self.constraints]
        return "".join(f"{ln}\n" for ln in lines), "".join(f"{ln}\n" for ln in constraints)


def _render(entry: Entry | LocalProject, placed: Mapping[str, str]) -> str:
    if isinstance(entry, Entry):
        return f"{entry.text}  # {entry.where}"
    marker = f" ; {entry.marker}" if entry.marker else ""
    return f"{placed[entry.path]}{entry.extras}{marker}  # {entry.where}"


def _strip_extras(path: str) -> tuple[str, str]:
    """pip's _strip_extras: './pkg[a,b]' -> ('./pkg', '[a,b]')."""
    if path.endswith("]") and "[" in path:
        head, _, extras = path.rpartition("[")
        return head, f"[{extras}"
    return path, ""


def _file_url_path(url: str) -> str:
    """The path of a `file:` URL (or the text itself when it is a plain path)."""
    if not url.lower().startswith("file:"):
        return url
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != "localhost":
        return f"//{parts.netloc}{unquote(parts.path)}"
    return unquote(parts.path)
