"""The Docker builder: install dependencies inside the runtime's lambci-style build image.

Talks to whatever Docker-API engine DOCKER_HOST names (dockerd, or podman's service). Native
packages compile against the image's own Amazon Linux, which is why this builder exists. The
download cache is a host folder mounted into every container (one per app, image and platform),
so a rebuild downloads nothing; only the dependency files (with the in-tree projects they name)
and an empty output folder are mounted, never the rest of the app's code.
The container is boxed like a host installer (sandbox.py): no network but the egress proxy,
no environment of this process, no capabilities.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import threading
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import docker
from docker.errors import DockerException, ImageNotFound
from docker.models.containers import Container

from laambda.building.builders.base import InstallPlan, Log, egress_policy, stop_on
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
_INSTALL = "/tmp/spec/.install-requirements.txt"  # beside the spec: `-c` lines are relative
# npm runs in a copy of the spec folder (mounted read-write: npm writes node_modules beside
# package.json); the host then copies in the in-tree `file:` packages npm linked and moves
# node_modules to the output, as the host builder does (node.py)
_NODE = "cd /laambda/project && npm {verb} --omit=dev --no-audit --no-fund --registry {registry}"


class DockerBuilder:
    name = "docker"

    def __init__(self, settings: Settings, client: docker.DockerClient | None = None) -> None:
        self.settings = settings
        self.client = client

    def _engine(self) -> docker.DockerClient:
        if self.client is None:
            try:
                self.client = docker.from_env(timeout=120)
                self.client.ping()
            except DockerException as exc:
                raise BuildFailed(
                    f"no Docker-API engine answers at DOCKER_HOST "
                    f"({os.environ.get('DOCKER_HOST', 'the default socket')}): {exc}; "
                    "start one, or set LAAMBDA_BUILDER=wheels"
                ) from None
        return self.client

    def _image(self, client: docker.DockerClient, image: str, platform: str, log: Log) -> None:
        try:
            client.images.get(image)
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
        cache = plan.cache_dir / "docker" / hashlib.sha256(key.encode()).hexdigest()[:16]
        cache.mkdir(parents=True, exist_ok=True)
        volumes = {
            str(out.resolve()): {"bind": "/laambda/out", "mode": "rw"},
            str(cache.resolve()): {"bind": "/laambda/cache", "mode": "rw"},
        }
        project = plan.workdir / "npm-project"
        if plan.runtime.language == "node":
            registry = shlex.quote(npm_registry(self.settings.allowed_indexes))
            script = _NODE.format(verb="ci" if plan.lockfile else "install", registry=registry)
            shutil.copytree(plan.files, project, dirs_exist_ok=True)
            volumes[str(project.resolve())] = {"bind": "/laambda/project", "mode": "rw"}
        else:
            script = self._python_script(plan)
            volumes[str(plan.files.resolve())] = {"bind": "/laambda/spec", "mode": "ro"}
            volumes[str((plan.workdir / "docker-plan").resolve())] = {
                "bind": "/laambda/plan",
                "mode": "ro",
            }
        env = {
            "PIP_CACHE_DIR": "/laambda/cache/pip",
            "PIP_BREAK_SYSTEM_PACKAGES": "1",
            "PIP_ROOT_USER_ACTION": "ignore",
            "PYTHONDONTWRITEBYTECODE": "1",
            "npm_config_cache": "/laambda/cache/npm",
        }
        log(f"-----> Installing in {image} ({platform})")
        code = self.run(
            client, image, platform=platform, language=plan.runtime.language, script=script,
            volumes=volumes, env=env, log=log, cancel=cancel, timeout=timeout,
            folder=plan.workdir,
        )  # fmt: skip
        if code != 0:
            raise BuildFailed(
                "installing the dependencies in the build image failed (see the output above): "
                "check the names and versions in your dependency file"
            )
        modules = project / "node_modules"
        if plan.runtime.language == "node" and modules.is_dir():
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
    ) -> int:
        """Run `script` with sh in `image`, boxed like a host installer (see sandbox.py); its
        exit status.

        The container sees only `volumes` (host path -> {"bind", "mode"}), the CA bundle and
        the egress proxy's socket; its environment is proxy_env() plus `env`, nothing of this
        process's; it has no network (only its own loopback, where a forwarder in `language`,
        "python" or "node", relays to the proxy), no capabilities and no new privileges.
        The proxy's socket is made in `folder` (the build's own), beside the other mounts.
        """
        volumes = dict(volumes)
        ca_bundle = None
        if CA_BUNDLE.is_file():
            volumes[str(CA_BUNDLE)] = {"bind": "/laambda/ca.crt", "mode": "ro"}
            ca_bundle = "/laambda/ca.crt"
        environment = proxy_env(ca_bundle) | dict(env)
        forwarder = (
            ["node", "-e", FORWARDER_JS]
            if language == "node"
            else ["python3", "-I", "-S", "-c", FORWARDER]
        )
        command = [*forwarder, str(PROXY_PORT), SOCKET_INSIDE, "sh", "-c", script]
        policy = egress_policy(self.settings)
        with egress_proxy(policy, log=log, folder=folder) as proxy_socket:
            volumes[str(proxy_socket.parent)] = {
                "bind": str(PurePosixPath(SOCKET_INSIDE).parent),
                "mode": "ro",
            }
            try:
                container = client.containers.run(
                    image, command, detach=True, volumes=volumes, environment=environment,
                    network_mode="none", cap_drop=["ALL"], security_opt=["no-new-privileges"],
                    user=f"{os.getuid()}:{os.getgid()}", platform=platform,
                )  # fmt: skip
            except DockerException as exc:
                raise BuildFailed(f"the build container could not start: {exc}") from None
            try:
                return self._follow(container, log=log, cancel=cancel, timeout=timeout)
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
