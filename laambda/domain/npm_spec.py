"""The paths and addresses a package.json (and its lock file) names, checked before npm runs.

Pure. A dependency given as `file:`/`link:` or a bare path must stay inside the pushed tree
(its folder is then handed to npm with the manifest); a URL, git or hosted-git shorthand
(`github:org/repo`, `org/repo`) must be below an address the operator allows; the lock file's
`resolved` addresses likewise. Spec forms from npm's documentation of package.json dependencies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from laambda.domain.requirements import ALLOWED_SETTING, check_url, tree_path
from laambda.errors import BuildFailed

_SECTIONS = ("dependencies", "optionalDependencies", "devDependencies", "peerDependencies")
_HOSTED = {
    "github": "https://github.com/",
    "gitlab": "https://gitlab.com/",
    "bitbucket": "https://bitbucket.org/",
    "gist": "https://gist.github.com/",
}
_URL = re.compile(r"^(git\+[a-z]+|git|https?|ssh)://", re.IGNORECASE)
_SHORTHAND = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(#.*)?$")
_NPM_WORD = re.compile(r"(?<![a-z])npm", re.IGNORECASE)  # npm, npmjs, npm-proxy, not "unpm"


def npm_registry(allowed: Sequence[str]) -> str:
    """The registry npm is pointed at (`--registry`): the first entry of the allowed indexes
    with a word starting "npm" in its host or path (https://registry.npmjs.org,
    https://npm.pkg.github.com, https://nexus.example.com/repository/npm-proxy/, …), so npm
    never falls back to its built-in default when the operator has removed it.

    Raises BuildFailed naming the setting when no entry is an npm registry.
    """
    for entry in allowed:
        try:
            parts = urlsplit(entry)
        except ValueError:
            continue
        if parts.scheme in ("http", "https") and _NPM_WORD.search(
            f"{parts.hostname or ''}{parts.path}"
        ):
            return entry
    raise BuildFailed(
        f"{ALLOWED_SETTING} names no npm registry (an address with npm in its host or path, "
        "such as https://registry.npmjs.org), so Node.js dependencies cannot be installed: "
        f"ask the operator to add one to {ALLOWED_SETTING}"
    )


def _json(text: str, name: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        raise BuildFailed(f"{name} is not valid JSON: fix it and push again") from None
    return data if isinstance(data, dict) else {}


def _spec_paths(spec: str, *, where: str, allowed: Sequence[str]) -> list[str]:
    """The tree paths one dependency spec names (none for registry versions)."""
    if spec.startswith(("file:", "link:")):
        path = spec.split(":", 1)[1]
        return [tree_path(path, base="", where=where, what=spec.split(":", 1)[0] + ":")]
    if spec.startswith(("./", "../", "/", "~/")):
        return [tree_path(spec, base="", where=where, what="the local package")]
    scheme = spec.split(":", 1)[0]
    if scheme in _HOSTED and ":" in spec:
        check_url(_HOSTED[scheme] + spec.split(":", 1)[1], allowed, where=where, what="the URL")
    elif _URL.match(spec) or spec.startswith("git@"):
        check_url(spec, allowed, where=where, what="the URL")
    elif _SHORTHAND.match(spec) and not spec.startswith("npm:"):
        check_url(_HOSTED["github"] + spec, allowed, where=where, what="the GitHub package")
    return []


def npm_local_paths(
    package_json: str, lock: str | None, *, lock_name: str | None, allowed: Sequence[str]
) -> list[str]:
    """Tree-relative folders and tarballs the manifest names; BuildFailed for anything else."""
    data = _json(package_json, "package.json")
    paths: list[str] = []
    for section in _SECTIONS:
        table = data.get(section)
        for name, spec in table.items() if isinstance(table, dict) else []:
            if isinstance(spec, str):
                where = f'package.json "{section}" {name}'
                paths += _spec_paths(spec, where=where, allowed=allowed)
    if lock is not None and lock_name:
        packages = _json(lock, lock_name).get("packages") or {}
        for key, entry in packages.items() if isinstance(packages, dict) else []:
            where = f'{lock_name} "packages" "{key}"'
            if key and not key.startswith("node_modules/") and "/node_modules/" not in key:
                paths.append(tree_path(key, base="", where=where, what="the local package"))
            resolved = entry.get("resolved") if isinstance(entry, dict) else None
            if not isinstance(resolved, str):
                continue
            if entry.get("link") or "://" not in resolved:
                path = resolved.removeprefix("file:")
                paths.append(tree_path(path, base="", where=where, what="the local package"))
            else:
                check_url(resolved, allowed, where=where, what="the package address")
        legacy = _json(lock, lock_name).get("dependencies")  # lockfileVersion 1
        paths += _legacy_paths(legacy, lock_name, allowed)
    return [p for p in dict.fromkeys(paths) if p != "."]


def _legacy_paths(tree: Any, lock_name: str, allowed: Sequence[str]) -> list[str]:
    """The `resolved` / `version` addresses of a version-1 lock's nested "dependencies"."""
    paths: list[str] = []
    for name, entry in tree.items() if isinstance(tree, dict) else []:
        if not isinstance(entry, dict):
            continue
        where = f'{lock_name} "dependencies" {name}'
        for key in ("resolved", "version"):
            value = entry.get(key)
            if isinstance(value, str) and value.startswith("file:"):
                path = value.removeprefix("file:")
                paths.append(tree_path(path, base="", where=where, what="the local package"))
            elif isinstance(value, str) and "://" in value:
                check_url(value, allowed, where=where, what="the package address")
        paths += _legacy_paths(entry.get("dependencies"), lock_name, allowed)
    return paths
