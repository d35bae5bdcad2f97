"""laambda on several hosts at once: hosts are network namespaces this test makes (netns.py).

- `services`: PostgreSQL, Redis, the local cloud (moto's server) and a package index, each of
  the fleet's own and bound to the host's address;
- `api`: the REST API; `receiver-a`, `receiver-b`: the git receivers; `worker-a`, `worker-b`:
  the workers. Each has its own data directory and knows the others only by their addresses.

20 apps are pushed at once, spread over both receivers: first with one worker host (the
dependencies installed, then a code change), then with both (a code change, which the second
host builds from the first one's cached dependencies). Every push is released exactly once,
versions are consecutive, the same tree gives the same artifact on either host. Then a worker
host is killed (every process of its namespace, SIGKILL) in the middle of a build: the other
host finishes it within a minute and nothing is half-live. The timings go to BENCHMARKS.md.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from laambda.config import Settings, settings_env
from laambda.db import migrate
from laambda.db.models import App, Build, Release, User
from laambda.db.session import session_scope
from laambda.deploy import aws
from laambda.domain.status import ReleaseStatus
from laambda.services.app import app_service
from laambda.services.key import key_service
from laambda.services.user import user_service
from tests.support.aws import ensure_role
from tests.support.netns import Host, Network, unavailable, wait_for_port
from tests.support.platform import python_app
from tests.support.receiver import SSH_OPTIONS, commit, git

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

APPS = 20
RECOVERY_SECONDS = 60
BIN = Path(sys.executable).parent
REQUIREMENT = "tqdm==4.70.1"
SLOW_INDEX = Path(__file__).resolve().parents[1] / "support" / "slow_index.py"
# below pip's 15 s read timeout; long beside the 0.2 s the test looks for an installer every
SLOW_WHEEL_SECONDS = 8
WHEELS = {"tqdm": "tqdm-4.70.1-py3-none-any.whl", "six": "six-1.17.0-py2.py3-none-any.whl"}
# where the machine may keep wheels already; otherwise pip downloads them (the hosts themselves
# have no way out of their network, so their package index is served from `services`)
WHEEL_FOLDERS = (Path("/opt/pypi/files"), Path("/opt/wheels"))
# Debian's PostgreSQL server programs (scripts/services.sh says to install them), the newest
PG_BIN = max(
    (str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")),
    key=lambda path: int(Path(path).parent.name) if Path(path).parent.name.isdigit() else 0,
    default="/usr/lib/postgresql/15/bin",
)
# LAAMBDA_FLEET_BENCH=1 adds a round of pushes with one worker host, like the one with two, and
# writes both timings (to LAAMBDA_FLEET_REPORT): the numbers of BENCHMARKS.md
BENCH = os.environ.get("LAAMBDA_FLEET_BENCH") == "1"
# In that round each worker host is a host of a fixed size, LAAMBDA_FLEET_HOST_CPUS CPUs (0.5 by
# default), so that a second one adds as much capacity as the first had, as a second machine
# would: all the hosts here share the same few cores, which a second unlimited worker host
# would only compete for.
HOST_CPUS = float(os.environ.get("LAAMBDA_FLEET_HOST_CPUS", "0.5"))


@dataclass
class Fleet:
    net: Network
    settings: Settings  # what every host shares; each host adds its own name and data directory
    services: Host
    api: Host
    receivers: list[Host]
    workers: list[Host]
    sessions: sessionmaker[Session]
    key: Path
    tmp: Path
    # one client for the whole run's health checks (a new one loads the CA bundle each time)
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))

    def env(self, host: Host, **extra: object) -> dict[str, str]:
        settings = self.settings.model_copy(
            update={"host_name": host.name, "data_dir": host.data_dir, **extra}
        )
        return dict(os.environ) | settings_env(settings)

    def start_worker(self, host: Host) -> None:
        self.net.start(host, [str(BIN / "laambda"), "worker", "--concurrency", "2"], self.env(host))

    def health(self) -> dict[str, object]:
        answer: dict[str, object] = self.http.get(f"http://{self.api.ip}:5000/health").json()
        return answer

    def wait_for_workers(self, names: set[str], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            workers = self.health()["parts"]["workers"]  # type: ignore[index]
            if set(workers["hosts"]) == names:
                return
            if time.monotonic() > deadline:
                tails = "\n".join(h.tail() for h in self.workers)
                raise AssertionError(f"/health shows {workers}, not {names}:\n{tails}")
            time.sleep(0.5)

    def push(
        self, app: str, repo: Path, receiver: Host
    ) -> tuple[subprocess.CompletedProcess[str], float]:
        ssh = f"ssh -i {self.key} {SSH_OPTIONS} -o LogLevel=ERROR"
        started = time.monotonic()
        done = subprocess.run(
            ["git", "push", f"ssh://git@{receiver.ip}:2222/{app}", "main"],
            cwd=repo,
            env=os.environ | {"GIT_SSH_COMMAND": ssh},
            capture_output=True,
            text=True,
            timeout=600,
        )
        return done, time.monotonic() - started


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    if reason := unavailable():
        pytest.skip(reason)
    if shutil.which("initdb", path=PG_BIN) is None or not _has_user("postgres"):
        pytest.skip(f"no PostgreSQL server programs in {PG_BIN} (or no postgres user) to run")
    index_root = _package_index(tmp_path / "index")
    net = Network(tmp_path / "hosts")
    # PostgreSQL refuses to run as root, and root's temporary folders are closed to others
    pgdata = Path(tempfile.mkdtemp(prefix="laambda-fleet-pg-"))
    engine: Engine | None = None
    try:
        services = net.host("services")
        api = net.host("api")
        receivers = [net.host("receiver-a"), net.host("receiver-b")]
        workers = [net.host("worker-a"), net.host("worker-b")]
        if BENCH:
            for worker in workers:
                net.limit_cpu(worker, HOST_CPUS)
        database_url = f"postgresql+psycopg://postgres@{services.ip}:5432/postgres"
        index = f"http://{services.ip}:8000/simple"
        settings = Settings(
            database_url=database_url,
            broker_url=f"redis://{services.ip}:6379/0",
            redis_url=f"redis://{services.ip}:6379/0",
            aws_endpoint_url=f"http://{services.ip}:5000",
            artifact_bucket="laambda-fleet",
            queue=f"laambda-fleet-{uuid.uuid4().hex[:6]}",
            applier="celery",
            builder="wheels",
            allowed_indexes=[index],
            build_egress_hosts=[f"{services.ip}:8000"],
            build_egress_networks=[net.cidr],
            sweep_interval=3,
            recovery_interval=3,
            ssh_port=2222,
            api_port=5000,
            default_role="arn:aws:iam::123456789012:role/lambda-basic",
        )
        plain = dict(os.environ)
        _postgres(net, services, pgdata, plain)
        net.start(services, ["redis-server", "--bind", services.ip, "--port", "6379", "--save", "",
                             "--appendonly", "no", "--protected-mode", "no"], plain)  # fmt: skip
        moto = (
            "import sys; from laambda.local import moto_versions; moto_versions.install(); "
            "from moto.server import main; main(sys.argv[1:])"
        )
        net.start(services, [sys.executable, "-c", moto, "-H", services.ip, "-p", "5000"], plain)
        # six's wheel (the crash app's alone) is served after SLOW_WHEEL_SECONDS: that build stays
        # in its installer long enough to be found there and its host killed
        net.start(services, [sys.executable, str(SLOW_INDEX), str(index_root), services.ip, "8000",
                             "/files/six-", str(SLOW_WHEEL_SECONDS)], plain)  # fmt: skip
        for port in (5432, 6379, 5000, 8000):
            wait_for_port((services.ip, port), 60, services)
        migrate.upgrade(database_url)
        engine = create_engine(database_url, pool_size=5)
        sessions = sessionmaker(bind=engine, expire_on_commit=False)
        key = tmp_path / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        made = Fleet(net, settings, services, api, receivers, workers, sessions, key,
                     tmp_path)  # fmt: skip
        net.start(api, [str(BIN / "laambda"), "api", "--host", api.ip, "--port", "5000"],
                  made.env(api))  # fmt: skip
        for receiver in receivers:
            net.start(
                receiver,
                [str(BIN / "laambda"), "receiver"],
                made.env(receiver, ssh_host=receiver.ip),
            )
        wait_for_port((api.ip, 5000), 60, api)
        for receiver in receivers:
            wait_for_port((receiver.ip, 2222), 60, receiver)
        local = settings.model_copy(update={"aws_endpoint_url": settings.aws_endpoint_url})
        ensure_role(local)
        yield made
    finally:
        if engine is not None:
            engine.dispose()
        net.close()
        shutil.rmtree(pgdata, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _postgres(net: Network, host: Host, pgdata: Path, env: dict[str, str]) -> None:
    """A PostgreSQL of the fleet's own in the host, on its address: as many connections as 20
    pushes at once take (each holds its app's push lock), apart from other tests' servers."""
    shutil.chown(pgdata, "postgres")
    subprocess.run(
        ["runuser", "-u", "postgres", "--", f"{PG_BIN}/initdb", "-D", str(pgdata / "data"),
         "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"],
        check=True, capture_output=True,
    )  # fmt: skip
    with (pgdata / "data" / "pg_hba.conf").open("a") as hba:
        hba.write(f"host all all {net.cidr} trust\n")  # the fleet's network only
    net.start(
        host,
        ["runuser", "-u", "postgres", "--", f"{PG_BIN}/postgres", "-D", str(pgdata / "data"),
         "-c", f"listen_addresses={host.ip}", "-c", "port=5432", "-c", "max_connections=300",
         "-c", f"unix_socket_directories={pgdata}", "-c", "fsync=off",
         "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
        env,
    )  # fmt: skip


def _package_index(root: Path) -> Path:
    """A static PEP 503 index (simple/<name>/index.html -> files/<wheel>) of WHEELS."""
    files = root / "files"
    files.mkdir(parents=True)
    for name, wheel in WHEELS.items():
        found = next((f / wheel for f in WHEEL_FOLDERS if (f / wheel).is_file()), None)
        if found is not None:
            shutil.copyfile(found, files / wheel)
        else:
            version = wheel.split("-")[1]
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary",
                 ":all:", "-d", str(files), f"{name}=={version}"],
                check=True,
            )  # fmt: skip
        digest = hashlib.sha256((files / wheel).read_bytes()).hexdigest()
        page = root / "simple" / name / "index.html"
        page.parent.mkdir(parents=True)
        page.write_text(f'<a href="../../files/{wheel}#sha256={digest}">{wheel}</a>\n')
    return root


def _setup_apps(fleet: Fleet, count: int, prefix: str) -> list[str]:
    names = [f"{prefix}{n:02d}" for n in range(count)]
    with session_scope(fleet.sessions) as session:
        user = session.scalar(select(User).where(User.email == "ops@example.com"))
        if user is None:
            user, _ = user_service.create(session, "ops@example.com", is_admin=True)
            key_service.add(session, user, fleet.key.with_suffix(".pub").read_text(), name=None)
        for name in names:
            app_service.create(session, user, name=name, settings=fleet.settings)
    return names


def _files(marker: str, requirements: str = REQUIREMENT) -> dict[str, str]:
    files = python_app(["web"], marker=marker)
    files["requirements.txt"] = f"{requirements}\n"
    return files


def _push_all(fleet: Fleet, repos: dict[str, Path], version: int) -> tuple[float, list[float]]:
    """Push every app at once, alternating receivers; (total seconds, each push's seconds)."""
    started = time.monotonic()

    def one(item: tuple[int, str]) -> float:
        index, app = item
        done, seconds = fleet.push(app, repos[app], fleet.receivers[index % 2])
        assert done.returncode == 0, f"{app}: {done.stderr}"
        assert f"Released v{version}" in done.stderr, f"{app}: {done.stderr}"
        return seconds

    with ThreadPoolExecutor(len(repos)) as pool:
        seconds = list(pool.map(one, enumerate(sorted(repos))))
    return time.monotonic() - started, seconds


def _builds(fleet: Fleet, app: str) -> list[Build]:
    with session_scope(fleet.sessions) as session:
        row = session.scalars(select(App).where(App.name == app)).one()
        return list(session.scalars(select(Build).where(Build.app_id == row.id).order_by(Build.id)))


def _releases(fleet: Fleet, app: str) -> list[Release]:
    with session_scope(fleet.sessions) as session:
        row = session.scalars(select(App).where(App.name == app)).one()
        query = select(Release).where(Release.app_id == row.id).order_by(Release.version)
        return list(session.scalars(query))


def _until(check: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.2)
    return time.monotonic() - started


def test_a_fleet_of_hosts_builds_and_releases_each_push_once(fleet: Fleet) -> None:
    worker_a, worker_b = fleet.workers
    fleet.start_worker(worker_a)
    fleet.wait_for_workers({"worker-a"})
    apps = _setup_apps(fleet, APPS, "fleet")
    repos = {}
    for app in apps:
        repo = fleet.tmp / "clones" / app
        repo.mkdir(parents=True)
        git(repo, "init", "-q", "-b", "main")
        commit(repo, _files("v1"), "first")
        repos[app] = repo

    # one worker host: the first push installs the dependencies
    phases = [_push_all(fleet, repos, 1)]
    if BENCH:  # for BENCHMARKS.md: a code change with one worker host, then the same with two
        for repo in repos.values():
            commit(repo, _files("one host"), "with one worker host")
        phases.append(_push_all(fleet, repos, len(phases) + 1))

    # a second worker host, which has built nothing yet: a code change on both
    fleet.start_worker(worker_b)
    fleet.wait_for_workers({"worker-a", "worker-b"})
    for repo in repos.values():
        commit(repo, _files("two hosts"), "with two worker hosts")
    phases.append(_push_all(fleet, repos, len(phases) + 1))
    joined = len(phases)  # the version the second host first built
    if BENCH:  # and again, both hosts warm (the first round with two fetched b's cache first)
        for repo in repos.values():
            commit(repo, _files("two warm hosts"), "with two warm worker hosts")
        phases.append(_push_all(fleet, repos, len(phases) + 1))
    pushes = len(phases)

    # every push released exactly once, as consecutive versions
    third: dict[str, Build] = {}
    for app in apps:
        builds = _builds(fleet, app)
        releases = _releases(fleet, app)
        assert [b.status for b in builds] == ["succeeded"] * pushes, app
        assert [(r.version, r.status) for r in releases] == [
            (v, ReleaseStatus.SUCCEEDED) for v in range(1, pushes + 1)
        ], app
        assert [r.build_id for r in releases] == [b.id for b in builds], app
        third[app] = builds[joined - 1]
    # the second host took part, from the cache entries the first one made: it never installed
    # anything, and each build it ran says it used the cache
    from_b = sorted(p.name for p in (worker_b.data_dir / "build-cache").iterdir())
    assert 0 < len(from_b) <= APPS, from_b
    assert BENCH or len(from_b) < APPS, from_b  # one round: worker-a took part too
    for app in from_b:
        assert "Installing requirements.txt (cached: 1 package)" in third[app].log, third[app].log
        assert "Installing wheels" not in third[app].log
    # identical trees, identical artifacts, whichever host built them
    assert len({build.artifact_sha256 for build in third.values()}) == 1

    # the fleet as an operator sees it, from the API host
    metrics = httpx.get(f"http://{fleet.api.ip}:5000/metrics", timeout=10).text
    built = pushes * APPS
    assert f'laambda_build_duration_seconds_count{{outcome="succeeded"}} {built}.0' in metrics
    assert 'laambda_aws_calls_total{operation="UpdateAlias",service="lambda"}' in metrics

    # a worker host dies in the middle of a build: the other one finishes it
    crash = _setup_apps(fleet, 1, "crash")[0]
    repo = fleet.tmp / "clones" / crash
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    # dependencies no host has cached: the build installs them, and six's wheel comes slowly
    commit(repo, _files("crash", f"{REQUIREMENT}\nsix==1.17.0"), "first")
    pushed: list[subprocess.CompletedProcess[str]] = []
    pusher = threading.Thread(
        target=lambda: pushed.append(fleet.push(crash, repo, fleet.receivers[0])[0]), daemon=True
    )
    pusher.start()
    building: list[Host] = []

    def installing() -> bool:
        for host in fleet.workers:
            for pid in host.pids():
                try:
                    command = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"bwrap" in command:
                    building.append(host)
                    return True
        return False

    # it queues behind the 20 pushes' builds on a loaded 2-core machine
    _until(installing, 300, f"a worker host installing {crash}'s dependencies")
    dead, alive = building[0], next(h for h in fleet.workers if h is not building[0])
    assert _builds(fleet, crash)[0].status == "running"
    killed = fleet.net.kill(dead)
    assert killed
    finished = _until(
        lambda: [r.status for r in _releases(fleet, crash)] == [ReleaseStatus.SUCCEEDED],
        RECOVERY_SECONDS,
        f"{alive.name} finishing {crash}'s build and release after {dead.name} died",
    )
    builds = _builds(fleet, crash)
    assert [b.status for b in builds] == ["succeeded"]
    # nothing half-live: `live` is on the one release's version, and the branch on its commit
    release = _releases(fleet, crash)[0]
    lam = aws.lambda_client(fleet.settings)
    live = lam.get_alias(FunctionName=f"{crash}-web", Name="live")
    assert live["FunctionVersion"] == (release.function_versions or {})[f"{crash}-web"]
    # the pusher is told as the release went (its hook waited for the other host), and only
    # once its receiver has kept the repository in the store: any receiver shows the branch
    pusher.join(timeout=120)
    assert pushed, f"the push of {crash} had not returned 120 s after its release went live"
    told = f"the pusher was told (exit {pushed[0].returncode}):\n{pushed[0].stderr}"
    assert pushed[0].returncode == 0, told
    assert "Released v1" in pushed[0].stderr, told
    ssh = f"ssh -i {fleet.key} {SSH_OPTIONS} -o LogLevel=ERROR"
    remote = subprocess.run(
        ["git", "ls-remote", f"ssh://git@{fleet.receivers[1].ip}:2222/{crash}", "refs/heads/main"],
        env=os.environ | {"GIT_SSH_COMMAND": ssh},
        capture_output=True,
        text=True,
        check=True,
    )
    assert remote.stdout.split()[:1] == [builds[0].commit], f"ls-remote: {remote.stdout}; {told}"
    assert builds[0].commit == git(repo, "rev-parse", "HEAD")
    # the dead host drops out of /health once its heartbeat expires
    fleet.wait_for_workers({alive.name}, timeout=40)

    if BENCH:
        lines = [
            f"{hosts}: {total:.1f} s total, per push median "
            f"{statistics.median(each):.1f} s; builds {_span(fleet, apps, version)}"
            for hosts, (total, each), version in (
                ("1 worker host", phases[1], 2),
                ("2 worker hosts, the second one's first round", phases[2], 3),
                ("2 worker hosts", phases[3], 4),
            )
        ]
        report = (
            f"fleet, {APPS} concurrent code-change pushes, worker hosts of {HOST_CPUS:g} CPU "
            "each: " + "; ".join(lines)
        )
        report += f"; a killed host's build finished {finished:.1f} s after the kill"
        sys.stderr.write(report + "\n")  # shown with -s; BENCHMARKS.md quotes it
        out = os.environ.get("LAAMBDA_FLEET_REPORT", str(fleet.tmp / "fleet.txt"))
        Path(out).write_text(report + "\n")


def _span(fleet: Fleet, apps: list[str], version: int) -> str:
    """The worker side of one round of pushes: from the first build queued to the last one
    finished, and the median of each build's queued-to-finished time."""
    builds = [_builds(fleet, app)[version - 1] for app in apps]
    first = min(b.created_at for b in builds)
    last = max(b.finished_at for b in builds if b.finished_at is not None)
    each = [(b.finished_at - b.created_at).total_seconds() for b in builds if b.finished_at]
    span = (last - first).total_seconds()
    return f"{span:.1f} s first queued to last done, median {statistics.median(each):.1f} s"
