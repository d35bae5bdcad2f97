"""Shared fixtures: settings for tests, moto's server over HTTP as AWS, the object store.

Database fixtures live in tests/support/database.py (a fresh PostgreSQL database per test
session); helpers every folder shares live in tests/support.
"""

from __future__ import annotations

import gc
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("LAAMBDA_SECRET_KEY", "test-secret-key-that-is-long-enough-0123456789")
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[_name] = _value
os.environ.pop("AWS_PROFILE", None)

from laambda.config import Settings, settings_env  # noqa: E402
from laambda.deploy import aws  # noqa: E402
from laambda.local import moto_server  # noqa: E402
from laambda.objectstore import ObjectStore  # noqa: E402
from tests.support.live_worker import LiveWorker, start_worker  # noqa: E402

pytest_plugins = ["tests.support.database", "tests.support.runtime"]


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's server on a loopback port: the AWS every test talks to over HTTP."""
    server, url = moto_server.start()  # as the local cloud runs it (laambda/local/moto_server)
    yield url
    server.stop()


@pytest.fixture
def settings(moto_url: str, tmp_path: Path) -> Settings:
    return Settings(
        aws_endpoint_url=moto_url,
        data_dir=tmp_path / "data",
        artifact_bucket=f"laambda-test-{os.urandom(4).hex()}",
        default_role="arn:aws:iam::123456789012:role/lambda-basic",
    )


@pytest.fixture
def object_store(settings: Settings) -> ObjectStore:
    store = ObjectStore(aws.s3_client(settings), settings.artifact_bucket)
    store.ensure_bucket()
    return store


@pytest.fixture(scope="session")
def live_worker(
    database_url: str, moto_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveWorker]:
    settings = Settings(
        database_url=database_url,
        aws_endpoint_url=moto_url,
        artifact_bucket="laambda-e2e",
        data_dir=tmp_path_factory.mktemp("worker-data"),
        queue=f"laambda-test-{uuid.uuid4().hex[:8]}",
        builder="wheels",
        applier="celery",
        sweep_interval=3600,
        recovery_interval=3600,  # tests that want the recovery sweep start their own worker
        default_role="arn:aws:iam::123456789012:role/lambda-basic",
    )
    env = dict(os.environ) | settings_env(settings)
    process, output = start_worker(env)
    worker = LiveWorker(settings, env, process, output)
    yield worker
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


# Tests that use one of these fixtures start real processes (a Celery worker, Chromium, the
# local runtime's function processes) and take seconds each: `make test-fast` leaves them out.
SLOW_FIXTURES = frozenset(
    {
        "live_worker",
        "crash_platform",
        "browser",
        "local_runtime",
        "cli",
        "held_cli",
        "front",
        "site",
    }
)
# the longest modules (a minute or more each on 2 cores, `--durations` of a 4-worker run),
# started before everything else by parallel runs, longest first, so that none starts last;
# those that need the container engine's images after the others: on a new machine `make test`
# is still making the images (images-early) when the tests start, and a worker given them first
# would wait minutes for them, idle
LONGEST = (
    "tests/e2e/",
    "tests/receiver/test_outcome.py",
    "tests/worker/test_crash_recovery.py",
    "tests/cli/test_commands.py",
    "tests/multihost/",
    "tests/building/test_local_projects.py",
    "tests/worker/test_canary.py",
    "tests/packaging/",
    "tests/building/test_wheels.py",
    "tests/web/test_dashboard.py",
    "tests/building/test_docker.py",
    "tests/compose/",
)
# the modules that mostly wait by design (calls paced at Lambda's quota, a canary's window, a
# push lock held for seconds) or on the package index, the CPU idle meanwhile, longest first:
# each starts after two of the longest, so that one worker at a time waits while the others
# use the CPU. Run as a block, after the longest, four workers waited at once and left the CPU
# a fifth idle for 40 s; at the end of a run they left its last minute a third idle.
WAITING = (
    "tests/deploy/test_rollback_quota.py",
    "tests/building/test_manifest_builds.py",
    "tests/deploy/test_quota.py",
    "tests/cli/test_waiting.py",
    "tests/receiver/test_access.py",
    "tests/receiver/test_stateless.py",
    "tests/receiver/test_refs.py",
    "tests/building/test_server_paths.py",
    "tests/local/test_invoke.py",
    "tests/building/test_sandbox.py",
)
# the longest of the quick modules (10 to 25 s each: paced calls through the quota proxy, many
# moto calls), first among the quick ones so that `make test-fast` does not end on one alone
LONGEST_QUICK = (
    "tests/deploy/test_rollback_quota.py",
    "tests/api/test_event_sources.py",
    "tests/api/test_pipelines.py",
    "tests/deploy/test_quota.py",
    "tests/receiver/test_refs.py",
    "tests/api/test_fleet.py",
)
# modules whose tests share nothing but the session (no module-scoped fixture, no session
# fixture of their own that would then be made on several workers): each test may go to any
# worker, so that a long module does not run alone at the end
SPREAD = (
    "tests/e2e/",
    "tests/cli/",
    "tests/building/test_local_projects.py",
)


def pytest_configure(config: pytest.Config) -> None:
    """Keep the order pytest_collection_modifyitems gives: xdist's loadscope/loadgroup would
    otherwise reorder the groups by how many tests each holds, which starts the one-test
    groups (the compose test, each SPREAD test) last."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of SLOW_FIXTURES `slow`; keep each module on one xdist worker (its
    module-scoped fixtures are made once; SPREAD's tests each on any; the browser's modules
    all on one) unless it names an `xdist_group` of its own, for `--dist loadgroup`; and start
    the longest modules (those that mostly wait among them), then the slow ones, then the
    longest quick ones, first, so that no long one starts last and no minute is spent waiting."""
    # one Chromium (tests/web/conftest.py `browser`, a session fixture) for all the modules
    # that use it, not one on each worker that runs one of them
    browsing = {_module(item) for item in items if "browser" in getattr(item, "fixturenames", ())}
    for number, item in enumerate(items):
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("xdist_group") is None:
            # a group name without "]" or "@": xdist reads the group after the last "@" that
            # follows the last "]" of the node id
            if _module(item) in browsing:
                group = "browser"
            elif _module(item).startswith(SPREAD):
                group = f"test-{number}"
            else:
                group = _module(item)
            item.add_marker(pytest.mark.xdist_group(group))
    slow = {_module(item) for item in items if item.get_closest_marker("slow")}

    def rank(item: pytest.Item) -> float:
        module = _module(item)
        longest = [i for i, prefix in enumerate(LONGEST) if module.startswith(prefix)]
        if longest:
            return longest[0]
        waiting = [i for i, prefix in enumerate(WAITING) if module.startswith(prefix)]
        if waiting:
            return min(2 * waiting[0] + 1.5, len(LONGEST))
        if module in slow:
            return len(LONGEST) + 1
        return len(LONGEST) + 2 + (not module.startswith(LONGEST_QUICK))

    items.sort(key=rank)


def pytest_collection_finish() -> None:
    """Keep the garbage collector from walking, at each of its full passes, what collection
    made and the run keeps to its end (modules, fixtures' definitions, the test items):
    gc.freeze moves them to the permanent generation. 6% less CPU for tests/api."""
    gc.freeze()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """Stop a parallel run whose groups would be lost: `--dist loadgroup` sends a group to one
    worker only through the `@group` suffix xdist's worker adds to each grouped test's node id.
    pytest 9.2 keeps node ids where pytest-xdist 3.8 cannot change them, and every test then
    went to any worker, a module's fixtures made on several at once (pyproject.toml bounds
    pytest until xdist follows)."""
    if getattr(node.config.option, "dist", "") != "loadgroup":
        return
    lost = [nodeid for nodeid in ids if nodeid.rfind("@") < nodeid.rfind("]") + 1]
    if lost:
        pytest.exit(
            f"--dist loadgroup: {len(lost)} tests carry no xdist group in their node id "
            f"(first: {lost[0]}): this pytest and pytest-xdist do not work together; "
            "install the versions of uv.lock",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


def _module(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]
