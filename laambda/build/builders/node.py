"""The Node.js host builder: npm, production dependencies only, no native addons.

Install scripts are not run (`--ignore-scripts`): a script would run the app's dependencies'
code on the build host, and a native addon it compiles would be built for this host, not for
Lambda. Packages that carry native code are refused by name, pointing at the Docker builder.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

from laambda.build.builders.base import InstallPlan, Log, run_streaming
from laambda.errors import BuildFailed


class NodeBuilder:
    name = "npm"

    def install(
        self,
        plan: InstallPlan,
        out: Path,
        *,
        log: Log,
        cancel: threading.Event | None,
        timeout: float,
    ) -> None:
        project = plan.workdir / "npm-project"
        shutil.copytree(plan.files, project, dirs_exist_ok=True)
        verb = "ci" if plan.lockfile else "install"
        log(f"-----> Running npm {verb} --omit=dev")
        command = ["npm", verb, "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"]
        env = {
            "npm_config_cache": str(plan.cache_dir / "npm"),
            "npm_config_update_notifier": "false",
        }
        code, _ = run_streaming(
            command, log=log, cancel=cancel, timeout=timeout, env=env, cwd=project
        )
        if code != 0:
            raise BuildFailed(
                f"npm {verb} failed (see the output above): check package.json"
                + (
                    " and that the lock file matches it (run `npm install`, commit the lock file)"
                    if plan.lockfile
                    else ""
                )
            )
        modules = project / "node_modules"
        native = native_addons(modules)
        if native:
            raise BuildFailed(
                f"these packages carry native addons, which must be compiled for Lambda's Linux: "
                f"{', '.join(native)}; use the Docker builder (LAAMBDA_BUILDER=docker) or "
                "pure-JavaScript alternatives"
            )
        if modules.is_dir():
            shutil.move(modules, out / "node_modules")


def native_addons(modules: Path) -> list[str]:
    """Names of installed packages with a binding.gyp, a gypfile flag or a prebuilt .node file."""
    found: set[str] = set()
    if not modules.is_dir():
        return []
    for manifest in modules.rglob("package.json"):
        package = manifest.parent
        if package.parent.name != "node_modules" and package.parent.parent.name != "node_modules":
            continue
        try:
            data = json.loads(manifest.read_text())
        except (ValueError, UnicodeDecodeError):
            continue
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            continue
        if data.get("gypfile") or (package / "binding.gyp").is_file():
            found.add(data["name"])
    for binary in modules.rglob("*.node"):
        relative = binary.relative_to(modules).parts
        found.add("/".join(relative[:2]) if relative[0].startswith("@") else relative[0])
    return sorted(found)
