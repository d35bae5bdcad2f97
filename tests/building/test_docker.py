"""The Docker builder against a real Docker-API engine (podman) and a Debian build image."""

from __future__ import annotations

import json
import os
import shlex
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
from docker.types import Mount

from laambda.building.builders import docker as docker_builder
from laambda.building.builders.base import InstallPlan
from laambda.building.builders.docker import DockerBuilder
from laambda.building.builders.engine_volumes import (
    BUILD_LABEL,
    CACHE_LABEL,
    MADE_LABEL,
    BuildFolders,
)
from laambda.building.pipeline import build_source
from laambda.config import Settings
from laambda.domain.runtime import ALL_RUNTIMES
from laambda.errors import BuildFailed
from laambda.objectstore import ObjectStore
from tests.support.archives import tar_of
from tests.support.build import (
    APPS,
    LOCAL_APP,
    ROOT,
    Build,
    BuildFn,
    Engine,
    Listener,
    distributions,
    make_build,
    tar_of_app,
    zip_names,
)
from tests.support.build import run_handler as run_handler_alone
from tests.support.engine_faults import FaultyEngine, faulty_engine
from tests.support.node import SHARED_APP, require_from_artifact
from tests.support.wheels import run_handler, wheel_tags

# the first test may wait for scripts/container-engine.sh to make the images (minutes)
pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def docker_settings(
    engine: Engine, session_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return session_settings.model_copy(
        update={
            "builder": "docker",
            "build_images": {"python3.11": engine.image, "nodejs22.x": engine.node_image},
            "data_dir": tmp_path_factory.mktemp("docker-data"),
        }
    )


@pytest.fixture(scope="module")
def thumbs(
    docker_settings: Settings, session_store: ObjectStore, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Build, Build, BuildFn]:
    base = tmp_path_factory.mktemp("thumbs-docker")
    build = make_build(docker_settings, session_store, base)
    tarball = tar_of_app("thumbs", base / "thumbs.tar")
    return build(tarball), build(tarball), build


def test_pillow_app_built_in_the_image(
    thumbs: tuple[Build, Build, BuildFn], engine: Engine, tmp_path: Path
) -> None:
    cold, warm, _ = thumbs
    assert f"-----> Installing in {engine.image} (linux/amd64)" in cold.lines
    assert any("Successfully installed pillow" in line for line in cold.lines)
    tags = wheel_tags(cold.result.artifact_path, "pillow")
    assert tags
    assert all(t.startswith("cp311-cp311-manylinux") and t.endswith("_x86_64") for t in tags)
    created = run_handler(
        cold.result.artifact_path,
        tmp_path,
        "CreateThumbnail.handler",
        {"width": 300, "height": 600},
    )
    assert created["size"] == [64, 128]  # type: ignore[index]
    resized = run_handler(
        cold.result.artifact_path, tmp_path, "ResizeThumbnail.handler", {"width": 5, "height": 7}
    )
    assert resized == {"size": [5, 7], "mode": "RGB"}
    assert warm.result.sha256 == cold.result.sha256
    assert "-----> Installing requirements.txt (cached: 1 package)" in warm.lines
    assert not [line for line in warm.lines if "Installing in" in line]


def test_download_cache_is_mounted(thumbs: tuple[Build, Build, BuildFn], tmp_path: Path) -> None:
    _, _, build = thumbs
    changed_deps = tar_of_app(
        "thumbs", tmp_path / "t.tar", extra={"requirements.txt": "pillow\n--prefer-binary\n"}
    )
    done = build(changed_deps)
    assert any("Successfully installed pillow" in line for line in done.lines)
    assert not [line for line in done.lines if "Downloading pillow" in line]


def test_cancel_stops_the_container(
    docker_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    cancel = threading.Event()

    def log(line: str) -> None:
        if line.startswith("       "):  # the container's first output
            cancel.set()

    files = {
        "requirements.txt": "numpy\npandas\nscipy\n",
        "Procfile": "a: app.h",
        "app.py": "",
        ".python-version": "3.11",
    }
    with pytest.raises(BuildFailed, match="^build cancelled$"):
        build_source(
            tar_of(files, tmp_path / "src.tar"),
            app_name="x",
            workdir=tmp_path / "work",
            settings=docker_settings,
            store=None,
            log=log,
            cancel=cancel,
        )
    assert _containers_mounting(engine, str(tmp_path)) == []


def test_missing_image_fails_clearly(docker_settings: Settings, tmp_path: Path) -> None:
    settings = docker_settings.model_copy(
        update={"build_images": {"python3.11": "localhost/laambda-no-such-image:1"}}
    )
    with pytest.raises(BuildFailed) as info:
        build_source(
            tar_of_app("thumbs", tmp_path / "t.tar"),
            app_name="thumbs",
            workdir=tmp_path / "work",
            settings=settings,
            store=None,
            log=lambda _: None,
        )
    assert (
        "the build image localhost/laambda-no-such-image:1 is not available" in info.value.message
    )
    assert APPS.is_dir()


RelayedBuild = Callable[[int | None], tuple[FaultyEngine, Build | BuildFailed]]


@pytest.fixture
def build_through_a_faulty_engine(
    engine: Engine, docker_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> RelayedBuild:
    """Build thumbs (no cache to hit) through a relay to the engine that answers the first
    `fail` inspections of an image (all, for None) with podman's 500."""

    def build(fail: int | None) -> tuple[FaultyEngine, Build | BuildFailed]:
        uncached = docker_settings.model_copy(update={"data_dir": tmp_path / "data"})
        # a short folder: a unix socket's path holds 108 bytes at most
        with (
            tempfile.TemporaryDirectory(prefix="eng-", dir="/tmp") as folder,
            faulty_engine(engine.docker_host, Path(folder), fail=fail) as faulty,
        ):
            monkeypatch.setenv("DOCKER_HOST", faulty.docker_host)
            try:
                tarball = tar_of_app("thumbs", tmp_path / "t.tar")
                return faulty, make_build(uncached, None, tmp_path)(tarball)
            except BuildFailed as exc:
                return faulty, exc

    return build


def test_a_build_image_the_engine_fails_to_inspect_for_a_moment_is_asked_again(
    build_through_a_faulty_engine: RelayedBuild,
) -> None:
    faulty, build = build_through_a_faulty_engine(2)
    assert isinstance(build, Build), build
    assert (faulty.failed, faulty.inspections) == (2, 3)
    assert "PIL/__init__.py" in zip_names(build.result.artifact_path)
    assert not any("Pulling" in line for line in build.lines)


def test_a_build_image_the_engine_never_inspects_fails_the_build_clearly(
    build_through_a_faulty_engine: RelayedBuild, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(docker_builder, "INSPECT_RETRY_DELAYS", (0.01, 0.01))
    faulty, failed = build_through_a_faulty_engine(None)
    assert isinstance(failed, BuildFailed)
    assert faulty.inspections == 3
    assert failed.message.startswith(
        f"the engine could not inspect the build image {engine.image}: 500"
    )
    assert 'locating item named "manifest"' in failed.message


def test_the_engine_is_asked_its_api_version_once_per_process(
    engine: Engine, volume_settings: Settings
) -> None:
    """Each build makes its client; only the first asks GET /version (podman's answer runs
    dpkg-query eight times)."""
    with (
        tempfile.TemporaryDirectory(prefix="eng-", dir="/tmp") as folder,
        faulty_engine(engine.docker_host, Path(folder), fail=0) as faulty,
    ):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DOCKER_HOST", faulty.docker_host)
            for _ in range(3):
                DockerBuilder(volume_settings).remove_leftovers()  # lists the engine's volumes
        assert faulty.versions == 1


def test_node_app_built_in_the_image(
    docker_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    build = make_build(docker_settings, None, tmp_path / "builds")
    done = build(tar_of_app("greeter", tmp_path / "greeter.tar"), app_name="greeter")
    assert f"-----> Installing in {engine.node_image} (linux/amd64)" in done.lines
    names = zip_names(done.result.artifact_path)
    assert {"index.js", "node_modules/is-number/index.js"} <= set(names)
    assert not [n for n in names if n.startswith("node_modules/is-odd/")]
    assert "package-lock.json" in names  # the app's own, beside its code


def test_in_tree_projects_build_in_the_image(
    mounted_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    """`-e .` (src layout) and `./libs/common` are built from a writable copy of the spec
    folder into wheels, and installed without an index: nothing of them stays editable."""
    build = make_build(mounted_settings, None, tmp_path / "builds")
    files = {**LOCAL_APP, ".python-version": "3.11\n"}
    done = build(tar_of(files, tmp_path / "t.tar"), app_name="local")
    assert f"-----> Installing in {engine.image} (linux/amd64)" in done.lines
    names = set(zip_names(done.result.artifact_path))
    assert {"mypkg/__init__.py", "common/__init__.py", "humanize/__init__.py"} <= names
    assert distributions(done) == {"mypkg", "common", "humanize"}
    assert [n for n in names if n.startswith("humanize-4.9.")]  # the constraint held
    assert not [n for n in names if n.endswith((".pth", ".egg-link")) or "__editable__" in n]
    assert not [n for n in names if ".egg-info" in n or n.startswith("build/")]
    assert run_handler_alone(done, tmp_path, "handler.main", {}) == {
        "pkg": "from the pushed tree",
        "common": 1,
    }


def test_in_tree_file_package_built_in_the_image(
    mounted_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    """With engine volumes, node_modules comes back with the npm project, so npm's link to an
    in-tree `file:` package still leads to it and is copied into the artifact."""
    build = make_build(mounted_settings, None, tmp_path / "builds")
    files = {**SHARED_APP, "package.json": SHARED_APP["package.json"].replace(
        '"uses-shared"', '"uses-shared", "engines": {"node": "22.x"}'
    )}  # fmt: skip
    done = build(tar_of(files, tmp_path / "t.tar"), app_name="shared")
    assert f"-----> Installing in {engine.node_image} (linux/amd64)" in done.lines
    names = set(zip_names(done.result.artifact_path))
    assert {"node_modules/shared/index.js", "node_modules/is-number/index.js"} <= names
    assert require_from_artifact(done.result.artifact_path, tmp_path, "shared") == {
        "from": "the shared folder",
        "numeric": True,
    }


def test_the_node_build_uses_the_first_allowed_npm_registry(
    docker_settings: Settings, tmp_path: Path
) -> None:
    mirror = docker_settings.model_copy(
        update={"allowed_indexes": ["https://npm.mirror.invalid/", "https://registry.npmjs.org"]}
    )
    files = {
        **SHARED_APP,
        "package.json": json.dumps({"engines": {"node": "22.x"}, "dependencies": {"is-odd": "3"}}),
    }
    lines: list[str] = []
    with pytest.raises(BuildFailed, match="^installing the dependencies in the build image"):
        build_source(
            tar_of(files, tmp_path / "t.tar"), app_name="mirrored", workdir=tmp_path / "work",
            settings=mirror, store=None, log=lines.append,
        )  # fmt: skip
    refused = [line for line in lines if "Build egress refused" in line]
    assert refused
    assert all("npm.mirror.invalid:443" in line for line in refused)


PROBE = """
import json, os, socket, urllib.request
print("ENV", json.dumps(dict(os.environ), sort_keys=True))
print("MOUNTS", sorted(os.listdir("/laambda")), os.path.exists({checkout!r}))
for address in [("127.0.0.1", {port}), ({host_ip!r}, {port}), ("169.254.169.254", 80)]:
    try:
        socket.create_connection(address, timeout=3)
        print("direct", address[0], "connected")
    except OSError as exc:
        print("direct", address[0], "failed")
for url in ["http://127.0.0.1:{port}/", "https://example.org/", "https://pypi.org/simple/six/"]:
    try:
        print("proxied", url, urllib.request.urlopen(url, timeout=20).status)
    except OSError as exc:
        print("proxied", url, "failed", exc)
"""


def _host_address() -> str:
    """This host's address on its default route (no packet is sent)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))
        return str(probe.getsockname()[0])
    finally:
        probe.close()


def test_the_build_container_sees_no_secret_no_host_path_and_no_network(
    docker_settings: Settings,
    engine: Engine,
    worker_secrets: dict[str, str],
    listener: Listener,
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    script = PROBE.format(checkout=str(ROOT), port=listener.port, host_ip=_host_address())
    lines: list[str] = []
    client = engine.client()
    try:
        code = DockerBuilder(docker_settings, client).run(
            client, engine.image, platform="linux/amd64", language="python",
            script=f"python3 -c {shlex.quote(script)}",
            volumes={str(out): {"bind": "/laambda/out", "mode": "rw"}}, env={},
            log=lines.append, cancel=None, timeout=300,
        )  # fmt: skip
    finally:
        client.close()
    text = "\n".join(lines)
    assert code == 0, text
    for value in worker_secrets.values():
        assert value not in text
    env = json.loads(next(line for line in lines if "ENV {" in line).split("ENV ", 1)[1])
    assert not [name for name in env if name.startswith(("LAAMBDA_", "AWS_", "UV_INDEX"))]
    assert env["HTTPS_PROXY"] == "http://127.0.0.1:3128"
    assert "       MOUNTS ['ca.crt', 'out'] False" in lines
    assert [line.strip() for line in lines if "direct" in line] == [
        "direct 127.0.0.1 failed",
        f"direct {_host_address()} failed",
        "direct 169.254.169.254 failed",
    ]
    assert listener.accepted == 0
    assert "       proxied https://pypi.org/simple/six/ 200" in lines  # the allowed host works
    assert [line for line in lines if line.startswith(" !     Build egress refused")] == [
        f" !     Build egress refused: GET http://127.0.0.1:{listener.port}/: 127.0.0.1:"
        f"{listener.port} is not an allowed package host (add it to LAAMBDA_BUILD_EGRESS_HOSTS)",
        " !     Build egress refused: CONNECT example.org:443: example.org:443 is not an "
        "allowed package host (add it to LAAMBDA_BUILD_EGRESS_HOSTS)",
    ]


def test_the_node_build_container_sees_no_secret(
    docker_settings: Settings, engine: Engine, worker_secrets: dict[str, str]
) -> None:
    lines: list[str] = []
    client = engine.client()
    try:
        code = DockerBuilder(docker_settings, client).run(
            client, engine.node_image, platform="linux/amd64", language="node",
            script="cat /proc/self/environ | tr '\\0' '\\n'; npm view is-number@7.0.0 version",
            volumes={}, env={}, log=lines.append, cancel=None, timeout=300,
        )  # fmt: skip
    finally:
        client.close()
    text = "\n".join(lines)
    assert code == 0, text
    assert "       HTTPS_PROXY=http://127.0.0.1:3128" in lines
    assert "       7.0.0" in lines  # npm reached the registry through the proxy
    for value in worker_secrets.values():
        assert value not in text
    assert "LAAMBDA_" not in text
    assert "AWS_" not in text


def test_one_apps_build_scripts_never_reach_another_apps_download_cache(
    docker_settings: Settings, tmp_path: Path
) -> None:
    """Package build scripts run in the container while the download cache is mounted, so the
    cache is per app: what one app's build leaves there, another app's build never sees."""
    runtime = next(r for r in ALL_RUNTIMES if r.identifier == "python3.11")
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "requirements.txt").write_text("six==1.17.0\n")
    builder = DockerBuilder(docker_settings)

    def install(scope: str, name: str) -> list[str]:
        plan = InstallPlan(
            runtime=runtime, architecture="x86_64", files=spec, lockfile=None,
            workdir=tmp_path / name, cache_dir=tmp_path / "cache", cache_scope=scope,
        )  # fmt: skip
        out = tmp_path / name / "out"
        out.mkdir(parents=True)
        lines: list[str] = []
        builder.install(plan, out, log=lines.append, cancel=None, timeout=300)
        assert (out / "six.py").is_file()
        return lines

    first = install("app-a", "a1")
    assert any("Downloading six" in line for line in first)
    again = install("app-a", "a2")  # the same app: the cache serves it
    assert not any("Downloading six" in line for line in again)
    other = install("app-b", "b1")  # another app: nothing of app-a's cache
    assert any("Downloading six" in line for line in other)


def test_builds_of_two_apps_use_two_download_caches(
    docker_settings: Settings, tmp_path: Path
) -> None:
    """The pipeline scopes the Docker builder's download cache by the app's name."""
    files = {"requirements.txt": "six==1.17.0\n", "Procfile": "a: app.h\n", "app.py": "",
             ".python-version": "3.11\n"}  # fmt: skip
    settings = docker_settings.model_copy(update={"data_dir": tmp_path / "data"})
    build = make_build(settings, None, tmp_path / "builds")
    tarball = tar_of(files, tmp_path / "t.tar")
    for app in ("scoped-a", "scoped-b"):
        done = build(tarball, app_name=app)
        assert any("Downloading six" in line for line in done.lines), app
    caches = sorted((tmp_path / "data" / "download-cache" / "docker").iterdir())
    assert [sorted(p.name for p in (c / "wheels").iterdir()) for c in caches] == [
        ["six-1.17.0-py2.py3-none-any.whl"],
        ["six-1.17.0-py2.py3-none-any.whl"],
    ]


# --- LAAMBDA_BUILD_MOUNTS=volumes: the folders are engine volumes, as for a worker in compose


@pytest.fixture(scope="module")
def volume_settings(
    docker_settings: Settings, engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """The Docker builder with engine volumes: a socket volume of its own, which this worker
    (on the engine's host) sees at its mount point, through a short link (socket paths are
    short), and a data directory of its own (no dependency set is cached by the bind-mount
    builds); every download cache volume the module's builds make is removed at its end."""
    client = engine.client()
    volume = client.volumes.create(name=f"laambda-test-egress-{uuid.uuid4().hex[:8]}")
    caches = {v.name for v in client.volumes.list(filters={"label": CACHE_LABEL})}
    with tempfile.TemporaryDirectory(prefix="lx-", dir="/tmp") as short:
        seen = Path(short) / "s"
        seen.symlink_to(volume.attrs["Mountpoint"])
        try:
            yield docker_settings.model_copy(
                update={
                    "build_mounts": "volumes",
                    "build_socket_volume": volume.name,
                    "build_socket_dir": seen,
                    "data_dir": tmp_path_factory.mktemp("volume-data"),
                }
            )
        finally:
            for made in client.volumes.list(filters={"label": CACHE_LABEL}):
                if made.name not in caches:
                    try:  # not forced: that would remove the containers of a build using it
                        made.remove()
                    except docker.errors.APIError:
                        pass  # in use by another module's build (the compose test's)
            volume.remove(force=True)
            client.close()


@pytest.fixture(params=["bind", "volumes"])
def mounted_settings(request: pytest.FixtureRequest) -> Settings:
    """The Docker builder with its folders bind-mounted, then in engine volumes: a test that
    takes it runs once in each LAAMBDA_BUILD_MOUNTS mode."""
    chosen: Settings = request.getfixturevalue(
        "docker_settings" if request.param == "bind" else "volume_settings"
    )
    return chosen


def _containers_mounting(engine: Engine, source: str) -> list[str]:
    """The containers (any state) that mount a volume named `source`, or a folder under it:
    another module's builds (the compose test's, say) may run meanwhile in the same engine."""
    client = engine.client()
    try:
        # sparse: the list's own answer, no inspect of each container (one that ends and is
        # removed meanwhile, another module's, would make that fail with 404)
        return [
            str(c.id)
            for c in client.containers.list(all=True, sparse=True)
            if any(
                m.get("Name") == source or str(m.get("Source", "")).startswith(source + "/")
                for m in c.attrs.get("Mounts") or []
            )
        ]
    finally:
        client.close()


def _leftovers(engine: Engine, cache_name: str) -> list[str]:
    """The build volumes of `cache_name`'s builds, and containers still using its cache."""
    client = engine.client()
    try:
        volumes = client.volumes.list(filters={"label": f"{BUILD_LABEL}={cache_name}"})
    finally:
        client.close()
    return [str(v.name) for v in volumes] + _containers_mounting(engine, cache_name)


def _cache_volumes(engine: Engine, scope: str) -> list[str]:
    client = engine.client()
    try:
        found = client.volumes.list(filters={"label": CACHE_LABEL})
        return [v.name for v in found if v.attrs["Labels"][CACHE_LABEL].endswith(f" {scope}")]
    finally:
        client.close()


def test_a_python_build_in_engine_volumes_reuses_its_cache_volume(
    volume_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    """The spec goes in and the output comes back through the API; the download cache is a
    volume kept between builds; nothing of a build is left in the engine."""
    runtime = next(r for r in ALL_RUNTIMES if r.identifier == "python3.11")
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "requirements.txt").write_text("six==1.17.0\n")
    builder = DockerBuilder(volume_settings)
    scope = f"volumes-{uuid.uuid4().hex[:8]}"

    def install(name: str) -> list[str]:
        plan = InstallPlan(
            runtime=runtime, architecture="x86_64", files=spec, lockfile=None,
            workdir=tmp_path / name, cache_dir=tmp_path / "cache", cache_scope=scope,
        )  # fmt: skip
        out = tmp_path / name / "out"
        out.mkdir(parents=True)
        lines: list[str] = []
        builder.install(plan, out, log=lines.append, cancel=None, timeout=300)
        assert (out / "six.py").is_file()
        assert [p.name for p in out.glob("six-1.17.0.dist-info")]
        return lines

    first = install("first")
    assert any("Downloading six" in line for line in first)
    assert any("Successfully installed six-1.17.0" in line for line in first)
    again = install("again")
    assert not any("Downloading six" in line for line in again)
    assert any("Successfully installed six-1.17.0" in line for line in again)
    assert not (tmp_path / "cache").exists()  # the cache is the engine's, not a worker folder
    caches = _cache_volumes(engine, scope)
    assert len(caches) == 1
    assert _leftovers(engine, caches[0]) == []


VOLUME_PROBE = """
import os, urllib.request
print("MOUNTS", sorted(os.listdir("/laambda")))
try:
    print("SOCKETS", os.listdir("/run/laambda"))
except OSError as exc:
    print("SOCKETS refused", exc.errno)
for url in ["https://example.org/", "https://pypi.org/simple/six/"]:
    try:
        print("proxied", url, urllib.request.urlopen(url, timeout=20).status)
    except OSError as exc:
        print("proxied", url, "failed")
os.makedirs("/laambda/out/pkg")
open("/laambda/out/pkg/mod.py", "w").write("x = 1\\n")
os.symlink("pkg/mod.py", "/laambda/out/alias.py")
os.symlink("/etc/passwd", "/laambda/out/passwd")
os.symlink("../spec/requirements.txt", "/laambda/out/up.txt")
os.symlink("pkg/../../..", "/laambda/out/pkg/root")
os.symlink("..", "/laambda/out/pkg/up")
os.symlink("pkg/up/../../spec", "/laambda/out/esc")
"""


def _stage(settings: Settings, client: docker.DockerClient, tmp_path: Path) -> BuildFolders:
    spec = tmp_path / "spec"
    spec.mkdir(parents=True)
    (spec / "requirements.txt").write_text("six\n")
    cache = f"laambda-cache-test-{uuid.uuid4().hex[:8]}"
    return BuildFolders(
        client, settings, cache_name=cache, cache_key=cache, inputs={"spec": spec},
        outputs={"out": tmp_path / "out"}, workdir=tmp_path, log=lambda _: None,
    )  # fmt: skip


def test_engine_volumes_keep_the_egress_rules_and_drop_links_leaving_the_output(
    volume_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    """The proxy is the only way out and refuses a host not allowed; the socket volume's top
    folder cannot be listed (no other build's socket can be found); what the build leaves in
    its output is written by the worker, without the links that lead outside it."""
    lines: list[str] = []
    client = engine.client()
    try:
        stage = _stage(volume_settings, client, tmp_path)
        stage.log = lines.append
        with stage:
            code = DockerBuilder(volume_settings, client).run(
                client, engine.image, platform="linux/amd64", language="python",
                script=f"python3 -c {shlex.quote(VOLUME_PROBE)}", volumes={}, env={},
                log=lines.append, cancel=None, timeout=300, stage=stage,
            )  # fmt: skip
    finally:
        client.close()
    text = "\n".join(lines)
    assert code == 0, text
    assert "       MOUNTS ['ca.crt', 'cache', 'out', 'spec']" in lines
    assert "       SOCKETS refused 13" in lines  # EACCES
    assert "       proxied https://pypi.org/simple/six/ 200" in lines
    assert "       proxied https://example.org/ failed" in lines
    assert (
        " !     Build egress refused: CONNECT example.org:443: example.org:443 is not an "
        "allowed package host (add it to LAAMBDA_BUILD_EGRESS_HOSTS)"
    ) in lines
    out = tmp_path / "out"
    assert (out / "pkg" / "mod.py").read_text() == "x = 1\n"
    assert (out / "alias.py").is_symlink()
    assert (out / "alias.py").read_text() == "x = 1\n"
    assert os.readlink(out / "pkg" / "up") == ".."
    kept = [Path(top, name) for top, dirs, files in os.walk(out) for name in dirs + files]
    assert sorted(p.relative_to(out).as_posix() for p in kept) == [
        "alias.py", "pkg", "pkg/mod.py", "pkg/up",
    ]  # fmt: skip
    dropped = sorted(line.strip() for line in lines if "dropped symlink" in line)
    assert dropped == sorted(
        [
            "dropped symlink passwd -> /etc/passwd: it leads outside the build's output",
            "dropped symlink up.txt -> ../spec/requirements.txt: it leads outside the build's "
            "output",
            "dropped symlink pkg/root -> pkg/../../..: it leads outside the build's output",
            "dropped symlink esc -> pkg/up/../../spec: it leads outside the build's output, or to "
            "nothing",
        ]
    )
    assert _leftovers(engine, stage.cache_name) == []


def test_a_special_file_in_the_output_fails_the_build_and_leaves_nothing(
    volume_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    client = engine.client()
    try:
        stage = _stage(volume_settings, client, tmp_path)
        with pytest.raises(BuildFailed) as info, stage:
            DockerBuilder(volume_settings, client).run(
                client, engine.image, platform="linux/amd64", language="python",
                script="echo x > /laambda/out/a && mkfifo /laambda/out/pipe", volumes={},
                env={}, log=lambda _: None, cancel=None, timeout=300, stage=stage,
            )  # fmt: skip
    finally:
        client.close()
    assert info.value.message.startswith("the build's output was refused: ")
    assert "'out/pipe', a device, FIFO or other special file" in info.value.message
    assert not (tmp_path / "out" / "a").exists()  # checked whole before anything is written
    assert _leftovers(engine, stage.cache_name) == []


def test_a_cancelled_build_in_engine_volumes_leaves_nothing(
    volume_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    cancel = threading.Event()
    client = engine.client()
    try:
        stage = _stage(volume_settings, client, tmp_path)
        with pytest.raises(BuildFailed, match="^build cancelled$"), stage:
            DockerBuilder(volume_settings, client).run(
                client, engine.image, platform="linux/amd64", language="python",
                script="echo started && sleep 300", volumes={}, env={},
                log=lambda _: cancel.set(), cancel=cancel, timeout=300, stage=stage,
            )  # fmt: skip
    finally:
        client.close()
    assert _leftovers(engine, stage.cache_name) == []


def test_an_output_over_the_size_limit_fails_the_build_clearly(
    volume_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    settings = volume_settings.model_copy(update={"max_unpacked_bytes": 1024 * 1024})
    client = engine.client()
    try:
        for size in (1536, 4096):  # KB: under and over the archive's cap (twice the limit)
            stage = _stage(settings, client, tmp_path / str(size))
            with pytest.raises(BuildFailed) as info, stage:
                DockerBuilder(settings, client).run(
                    client, engine.image, platform="linux/amd64", language="python",
                    script=f"head -c {size}K /dev/zero > /laambda/out/big", volumes={}, env={},
                    log=lambda _: None, cancel=None, timeout=300, stage=stage,
                )  # fmt: skip
            assert info.value.message == (
                "the installed dependencies are over 1 MB, the limit (LAAMBDA_MAX_UNPACKED_BYTES);"
                " Lambda takes at most 250 MB unzipped: install fewer"
            )
            assert not (tmp_path / str(size) / "out").exists()
    finally:
        client.close()


def test_the_sweep_removes_build_volumes_that_killed_workers_left(
    volume_settings: Settings, engine: Engine
) -> None:
    """A worker killed mid-build never removes its build's volume: the sweep removes those made
    over twice LAAMBDA_BUILD_TIMEOUT ago that no container uses, and no other."""
    settings = volume_settings.model_copy(update={"build_timeout": 60})  # older than 120 s
    client = engine.client()
    marker = f"sweep-{uuid.uuid4().hex[:8]}"
    now = time.time()
    made = {
        name: client.volumes.create(
            name=f"laambda-build-{marker}-{name}",
            labels={BUILD_LABEL: marker, MADE_LABEL: str(int(now - age))},
        ).name
        for name, age in (("left", 600), ("running", 5), ("mounted", 600))
    }
    holder = client.containers.create(
        engine.image, ["true"], mounts=[Mount("/laambda", made["mounted"], type="volume")]
    )
    try:
        assert DockerBuilder(_bind_mounted(settings), client).remove_leftovers() == []
        removed = DockerBuilder(settings, client).remove_leftovers()
        assert made["left"] in removed
        assert made["running"] not in removed
        assert made["mounted"] not in removed
        found = client.volumes.list(filters={"label": f"{BUILD_LABEL}={marker}"})
        assert sorted(str(v.name) for v in found) == sorted([made["running"], made["mounted"]])
    finally:
        holder.remove(force=True)
        for volume in client.volumes.list(filters={"label": f"{BUILD_LABEL}={marker}"}):
            volume.remove(force=True)
        client.close()


def _bind_mounted(settings: Settings) -> Settings:
    """The same settings with the build folders bind-mounted (no engine volumes to sweep)."""
    return settings.model_copy(update={"build_mounts": "bind"})
