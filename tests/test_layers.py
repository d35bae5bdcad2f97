"""The packages are layers: none imports a layer above its own (laambda/__init__.py lists
them, each package's __init__.py says what it may import).

Read from the source with `ast`, so an import inside a function or under TYPE_CHECKING counts
too. Sideways imports (between packages of one layer) are refused unless listed in SIDEWAYS.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# bottom first; a module may import its own package and any package of a lower layer
LAYERS: list[tuple[str, ...]] = [
    ("laambda.errors",),
    ("laambda.domain",),
    ("laambda.config", "laambda.crypto", "laambda.trace", "laambda.fleet"),
    ("laambda.db", "laambda.migrations"),
    (
        "laambda.objectstore",
        "laambda.gitrepo",
        "laambda.logstream",
        "laambda.deploy",
        "laambda.building",
    ),
    ("laambda.services",),
    ("laambda.worker",),
    ("laambda.api", "laambda.web", "laambda.receiver"),
    ("laambda.local",),
    ("laambda.cli",),
    ("laambda.up", "laambda.server_commands"),
]

# (importer, imported): allowed between packages of one layer
SIDEWAYS = {
    ("laambda.fleet", "laambda.config"),  # heartbeats are written under the settings' names
    ("laambda.migrations", "laambda.db"),  # a migration runs against the models it changes
    ("laambda.deploy", "laambda.objectstore"),  # deploys read artifacts from the object store
    ("laambda.building", "laambda.objectstore"),  # builds keep their cache in the object store
    ("laambda.web", "laambda.api"),  # the dashboard is built on the API's dependencies
    ("laambda.server_commands", "laambda.up"),
}

# (importing module, imported package): justified imports of a higher layer
EXCEPTIONS = {
    # the app factory mounts the dashboard beside the API: the one place the two meet
    ("laambda.api.app", "laambda.web"),
    # `laambda api|worker|receiver|migrate|up`: the client's commands that start the server
    # side, importing it inside each command so that the client never loads it otherwise
    ("laambda.cli.serverside", "laambda.server_commands"),
    ("laambda.cli.serverside", "laambda.up"),
}

# imports refused although the layers would allow them (the client talks to the API only)
FORBIDDEN = {
    "laambda.cli": ("laambda.db", "laambda.services", "laambda.worker", "laambda.deploy"),
}


def _package(module: str) -> str | None:
    """The layered package of a module: `laambda.services.app` -> `laambda.services`."""
    parts = module.split(".")
    if parts[0] != "laambda" or len(parts) < 2:
        return None
    return ".".join(parts[:2])


RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}


def _modules() -> dict[str, Path]:
    found = {}
    for top in ("laambda",):
        for path in (ROOT / top).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


_MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every laambda module a file imports, anywhere in it."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from laambda import server_commands` imports a module, not a name
            modules = {f"{node.module}.{alias.name}" for alias in node.names}
            names.update(modules & _MODULES.keys() or {node.module})
    return {name for name in names if _package(name) is not None}


def _refusal(module: str, imported: str) -> str | None:
    """Why `module` may not import `imported`, or None when it may."""
    mine, theirs = _package(module), _package(imported)
    if mine is None or theirs is None or mine == theirs:
        return None
    if theirs not in RANK:  # `from laambda import x` where x is a name, not a package
        return None
    for forbidden in FORBIDDEN.get(mine, ()):
        if theirs == forbidden:
            return f"{module} imports {imported}: {mine} never imports {forbidden}"
    if any(module == m and theirs == p for m, p in EXCEPTIONS):
        return None
    if RANK[theirs] < RANK[mine] or (mine, theirs) in SIDEWAYS:
        return None
    where = "a higher layer" if RANK[theirs] > RANK[mine] else "a package beside it"
    return f"{module} imports {imported}: {theirs} is {where} than {mine}"


def test_every_package_has_a_layer() -> None:
    packages = {package for name in _MODULES if (package := _package(name)) is not None}
    assert sorted(packages - RANK.keys()) == []


def test_no_layer_imports_a_higher_one() -> None:
    refusals = [
        why
        for module, path in sorted(_MODULES.items())
        for imported in sorted(_imports(path))
        if (why := _refusal(module, imported)) is not None
    ]
    assert refusals == []


def test_the_check_refuses_an_upward_import() -> None:
    assert _refusal("laambda.domain.procfile", "laambda.db.models") == (
        "laambda.domain.procfile imports laambda.db.models: laambda.db is a higher layer than "
        "laambda.domain"
    )
    assert _refusal("laambda.services.app", "laambda.api.deps") is not None
    assert _refusal("laambda.building.pipeline", "laambda.deploy.aws") is not None
    assert _refusal("laambda.cli.apps", "laambda.services.app") is not None
    assert _refusal("laambda.services.app", "laambda.db.models") is None
