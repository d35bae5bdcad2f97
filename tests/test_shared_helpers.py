"""What tests share lives in tests/support: no test module or conftest imports another test
module or a conftest, so a helper has one home and moving a test breaks nothing else."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def _imported_modules(path: Path) -> list[str]:
    """The modules `path` imports, absolute (a relative import resolved against its package)."""
    package = ".".join(path.relative_to(TESTS.parent).parent.parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found += [base] if base != "tests" else [f"tests.{a.name}" for a in node.names]
    return found


def test_tests_import_only_tests_support_from_tests() -> None:
    offenders = [
        f"{path.relative_to(TESTS.parent)} imports {module}"
        for path in sorted(TESTS.rglob("*.py"))
        if "fixtures" not in path.relative_to(TESTS).parts
        for module in _imported_modules(path)
        if (module == "tests" or module.startswith("tests."))
        and not (module == "tests.support" or module.startswith("tests.support."))
        and module != "conftest"
    ]
    offenders += [
        f"{path.relative_to(TESTS.parent)} imports conftest"
        for path in sorted(TESTS.rglob("*.py"))
        if "fixtures" not in path.relative_to(TESTS).parts and "conftest" in _imported_modules(path)
    ]
    assert offenders == []
