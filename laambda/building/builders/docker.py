"""The Docker builder: install dependencies inside the runtime's lambci-style build image.

Talks to whatever Docker-API engine DOCKER_HOST names (dockerd, or podman's service). Native
packages compile against the image's own Amazon Linux, which is why this builder exists. The
download cache is kept for every container (one per app, image and platform), so a rebuild
downloads nothing; only the dependency files (with the in-tree projects they name) and an empty
output folder are given, never the rest of the app's code. They are the worker's own folders,
bind-mounted (LAAMBDA_BUILD_MOUNTS=bind: the engine shares the worker's host), or engine volumes
filled and read back through the API (=volumes: a worker in a container, engine_volumes.py).
The container is boxed like a host installer (sandbox.py): no network but the egress proxy,
no environment of this process, no capabilities.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import threading
import time
from collections.abc import Mapping
from contextlib import ExitStack
from functools import partial
from pathlib import Path, PurePosixPath

import docker
from docker.errors import APIError, DockerException, ImageNotFound
from docker.models.containers import Container

from laambda.building.builders.base import InstallPlan, Log, egress_policy, stop_on
from laambda.building.builders.engine_volumes import BuildFolders, remove_leftovers
from laambda.building.builders.node import copy_in_tree_links
from laambda.building.builders.wheels import LOCAL_LINE, index_options
from laambda.building.egress import egress_proxy
from laambda.building.sandbox import (
    CA_BUNDLE,
    FORWARDER,
    FORWARDER_JS,
    PROXY_PORT,
    SOCKET_INSIDE,
    proxy_env,
)
from laambda.config import Settings
from laambda.domain.npm_spec import npm_registry
from laambda.errors import BuildFailed

# The spec folder is mounted read-only and copied to the container's own /tmp, where pip runs
# (its `./local/...` lines are relative to it) and where setuptools may write egg-info and
# build folders into in-tree projects. Each in-tree project is first built into a wheel of its
# own (with the spec's index options, so its build backend can be fetched) and its line in the
# requirements replaced by that wheel. Then, as for every app: wheels (downloaded, or built
# here from sdists) are kept in the mounted cache and found there by the next build ("File was
# already downloaded"), and the install itself never touches the index or builds anything.
_PIP = "python3 -m pip"
_LOCAL_WHEEL = (
    "{pip} wheel --no-deps --progress-bar off -w /tmp/local/{n} -r /laambda/plan/local-{n}.txt"
    ' && set -- /tmp/local/{n}/*.whl && sed -i "s|@LOCAL-{n}@|$1|" {install}'
)
_PYTHON = (
    "{pip} wheel --progress-bar off -r {install} -w /laambda/cache/wheels && "
    "{pip} install --no-compile --no-index --find-links /laambda/cache/wheels -r {install} "
    "-t /laambda/out"
)
# seconds between the inspections of a build image the engine failed to answer (5xx): 7.5 s
INSPECT_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)
_INSTALL = "/tmp/spec/.install-requirements.txt"  # beside the spec: `-c` lines are relative
# npm runs in a copy of the spec folder (mounted read-write: npm writes node_modules beside
# package.json); the host then copies in the in-tree `file:` packages npm linked and moves
# node_modules to the output, as the host builder does (node.py)
_NODE = "cd /laambda/project && npm {verb} --omit=dev --no-audit --no-fund --registry {registry}"


# the API version each engine (by DOCKER_HOST) answered, asked once per process: a client made
# without one asks GET /version first, for which podman's service runs dpkg-query eight times
# and its runtimes' --version (a tenth of a second of CPU per build)
_api_versions: dict[str, str] = {}


class DockerBuilder:
    name = "docker"

    def __init__(self, settings: Settings, client: docker.DockerClient | None = None) -> None:
        self.settings = settings
        self.client = client

    def _engine(self) -> docker.DockerClient:
        if self.client is None:
            host = os.environ.get("DOCKER_HOST", "")
            try:
                self.client = docker.from_env(timeout=120, version=_api_versions.get(host))
                self.client.ping()
                _api_versions[host] = self.client.api.api_version
            except DockerException as exc:
                raise BuildFailed(
                    f"no Docker-API engine answers at DOCKER_HOST "
                    f"({os.environ.get('DOCKER_HOST', 'the default socket')}): {exc}; "
                    "start one, or set LAAMBDA_BUILDER=wheels"
                ) from None
        return self.client

    def remove_leftovers(self) -> list[str]:
        """With LAAMBDA_BUILD_MOUNTS=volumes, remove the build volumes killed workers left:
        those made over twice LAAMBDA_BUILD_TIMEOUT ago that no container uses (see
        engine_volumes.remove_leftovers). Returns their names; [] in bind mode. Raises
        BuildFailed when no engine answers."""
        if self.settings.build_mounts != "volumes":
            return []
        try:
            return remove_leftovers(self._engine(), older_than=2 * self.settings.build_timeout)
        except DockerException as exc:
            raise BuildFailed(f"the engine did not list its volumes: {exc}") from None

    def _image(self, client: docker.DockerClient, image: str, platform: str, log: Log) -> None:
        """Make sure the engine holds `image`, pulling it when it does not. An engine's error
        (5xx) on inspecting it is asked again after INSPECT_RETRY_DELAYS (podman's service
        answers 500 "locating item named manifest" for an image while another podman process
        writes its store); raises BuildFailed when it persists or the pull fails."""
        try:
            self._inspect(client, image)
        except ImageNotFound:
            log(f"-----> Pulling build image {image}")
            try:
                client.images.pull(image, platform=platform)
            except DockerException as exc:
                raise BuildFailed(
                    f"the build image {image} is not available ({exc}); set "
                    "LAAMBDA_BUILD_IMAGES or LAAMBDA_BUILD_IMAGE_TEMPLATE to an image the engine "
                    "can get"
                ) from None

    def _inspect(self, client: docker.DockerClient, image: str) -> None:
        for delay in (*INSPECT_RETRY_DELAYS, None):
            try:
                client.images.get(image)
                return
            except ImageNotFound:
                raise
            except DockerException as exc:
                if delay is None or not (isinstance(exc, APIError) and exc.is_server_error()):
                    raise BuildFailed(
                        f"the engine could not inspect the build image {image}: {exc}"
                    ) from None
                time.sleep(delay)

    def install(
        self,
        plan: InstallPlan,
        out: Path,
        *,
        log: Log,
        cancel: threading.Event | None,
        timeout: float,
    ) -> None:
        client = self._engine()
        image = self.settings.build_image(plan.runtime.identifier)
        platform = "linux/arm64" if plan.architecture == "arm64" else "linux/amd64"
        self._image(client, image, platform, log)
        # one download cache per image and platform (a wheel built from an sdist in one image
        # must not be installed by another) and per cache scope (see InstallPlan.cache_scope)
        key = f"{image} {platform}" + (f" {plan.cache_scope}" if plan.cache_scope else "")
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        node = plan.runtime.language == "node"
        project = plan.workdir / "npm-project"
        folders: dict[str, Path]  # what the container finds under /laambda
        if node:
            registry = shlex.quote(npm_registry(self.settings.allowed_indexes))
            script = _NODE.format(verb="ci" if plan.lockfile else "install", registry=registry)
            shutil.copytree(plan.files, project, dirs_exist_ok=True)
            folders = {"project": project}
        else:
            script = self._python_script(plan)
            folders = {"spec": plan.files, "plan": plan.workdir / "docker-plan"}
        env = {
            "PIP_CACHE_DIR": "/laambda/cache/pip",
            "PIP_BREAK_SYSTEM_PACKAGES": "1",
            "PIP_ROOT_USER_ACTION": "ignore",
            "PYTHONDONTWRITEBYTECODE": "1",
            "npm_config_cache": "/laambda/cache/npm",
        }
        log(f"-----> Installing in {image} ({platform})")
        run = partial(
            self.run, client, image, platform=platform, language=plan.runtime.language,
            script=script, env=env, log=log, cancel=cancel, timeout=timeout,
        )  # fmt: skip
        if self.settings.build_mounts == "volumes":
            if node:  # read back whole: npm's links to in-tree packages point beside node_modules
                project = plan.workdir / "npm-project-built"
            outputs = {"out": out, **({"project": project} if node else {})}
            with BuildFolders(
                client, self.settings, cache_name=f"laambda-cache-{digest}", cache_key=key,
                inputs=folders, outputs=outputs, workdir=plan.workdir, log=log,
            ) as stage:  # fmt: skip
                code = run(volumes={}, stage=stage)
        else:
            cache = plan.cache_dir / "docker" / digest
            cache.mkdir(parents=True, exist_ok=True)
            volumes = {
                str(out.resolve()): {"bind": "/laambda/out", "mode": "rw"},
                str(cache.resolve()): {"bind": "/laambda/cache", "mode": "rw"},
            }
            for name, path in folders.items():
                # npm writes node_modules beside package.json; the spec and plan are read only
                mode = "rw" if name == "project" else "ro"
                volumes[str(path.resolve())] = {"bind": f"/laambda/{name}", "mode": mode}
            code = run(volumes=volumes, folder=plan.workdir)
        if code != 0:
            raise BuildFailed(
                "installing the dependencies in the build image failed (see the output above): "
                "check the names and versions in your dependency file"
            )
        modules = project / "node_modules"
        if node and modules.is_dir():
            copy_in_tree_links(modules, project)
            shutil.move(modules, out / "node_modules")

    def _python_script(self, plan: InstallPlan) -> str:
        """The shell script of a Python install; writes the files it reads from /laambda/plan
        (the requirements with each in-tree project line `@LOCAL-<n>@<rest>`, and per project
        the index options and its line) into the build's `docker-plan` folder."""
        folder = plan.workdir / "docker-plan"
        folder.mkdir(parents=True, exist_ok=True)
        text = (plan.files / "requirements.txt").read_text()
        options = index_options(text)
        lines: list[str] = []
        steps = ["mkdir -p /laambda/cache/wheels /tmp/local", "cp -R /laambda/spec /tmp/spec",
                 "cd /tmp/spec", f"cp /laambda/plan/requirements.txt {_INSTALL}"]  # fmt: skip
        for line in text.splitlines():
            match = LOCAL_LINE.match(line)
            if match is None or match[1].endswith(".whl"):
                lines.append(line)
                continue
            n = len(steps)
            (folder / f"local-{n}.txt").write_text("".join(f"{o}\n" for o in [*options, match[1]]))
            lines.append(f"@LOCAL-{n}@{match[2]}")
            steps.append(_LOCAL_WHEEL.format(pip=_PIP, n=n, install=_INSTALL))
        (folder / "requirements.txt").write_text("".join(f"{ln}\n" for ln in lines))
        steps.append(_PYTHON.format(pip=_PIP, install=_INSTALL))
        return " && ".join(steps)

    def run(
        self,
        client: docker.DockerClient,
        image: str,
        *,
        platform: str,
        language: str,
        script: str,
        volumes: dict[str, dict[str, str]],
        env: Mapping[str, str],
        log: Log,
        cancel: threading.Event | None,
        timeout: float,
        folder: Path | None = None,
        stage: BuildFolders | None = None,
    ) -> int:
        """Run `script` with sh in `image`, boxed like a host installer (see sandbox.py); its
        exit status.

        The container sees only its folders, the CA bundle (/laambda/ca.crt) and the egress
        proxy's socket: `volumes` (worker path -> {"bind", "mode"}) with the socket made in
        `folder` (the build's own), or with `stage` the engine volumes of one build
        (engine_volumes.py: filled before the container starts, read back after it exited
        with status 0). Its environment is proxy_env() plus `env`, nothing of this process's;
        it has no network (only its own loopback, where a forwarder in `language`, "python"
        or "node", relays to the proxy), no capabilities and no new privileges.
        Raises BuildFailed when the container cannot start, on cancel or timeout, and when
        `stage` fails.
        """
        volumes = dict(volumes)
        ca_bundle = None
        if CA_BUNDLE.is_file():
            if stage is None:
                volumes[str(CA_BUNDLE)] = {"bind": "/laambda/ca.crt", "mode": "ro"}
            ca_bundle = "/laambda/ca.crt"
        environment = proxy_env(ca_bundle) | dict(env)
        forwarder = (
            ["node", "-e", FORWARDER_JS]
            if language == "node"
            else ["python3", "-I", "-S", "-c", FORWARDER]
        )
        policy = egress_policy(self.settings)
        with ExitStack() as stack:
            if stage is None:
                proxy_socket = stack.enter_context(egress_proxy(policy, log=log, folder=folder))
                volumes[str(proxy_socket.parent)] = {
                    "bind": str(PurePosixPath(SOCKET_INSIDE).parent),
                    "mode": "ro",
                }
                socket_inside = SOCKET_INSIDE
            else:
                socket_inside = stack.enter_context(stage.egress(policy))
            command = [*forwarder, str(PROXY_PORT), socket_inside, "sh", "-c", script]
            try:
                container = client.containers.create(
                    image, command, volumes=volumes, mounts=stage.mounts if stage else [],
                    environment=environment, network_mode="none", cap_drop=["ALL"],
                    security_opt=["no-new-privileges"], user=f"{os.getuid()}:{os.getgid()}",
                    platform=platform,
                )  # fmt: skip
            except DockerException as exc:
                raise BuildFailed(f"the build container could not start: {exc}") from None
            try:
                if stage is not None:
                    stage.fill(container)
                try:
                    container.start()
                except DockerException as exc:
                    raise BuildFailed(f"the build container could not start: {exc}") from None
                code = self._follow(container, log=log, cancel=cancel, timeout=timeout)
                if stage is not None and code == 0:
                    stage.collect(container)
                return code
            finally:
                try:
                    container.remove(force=True)
                except DockerException:
                    pass

    def _follow(
        self, container: Container, *, log: Log, cancel: threading.Event | None, timeout: float
    ) -> int:
        """Stream the container's output line by line; kill it on cancel or timeout."""

        def kill() -> None:
            try:
                container.kill()
            except DockerException:
                pass

        pending = b""
        with stop_on(kill, cancel=cancel, timeout=timeout):
            for chunk in container.logs(stream=True, follow=True):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    log("       " + line.decode("utf-8", "replace").rstrip("\r"))
            if pending:
                log("       " + pending.decode("utf-8", "replace"))
            code = int(container.wait()["StatusCode"])
        return code
