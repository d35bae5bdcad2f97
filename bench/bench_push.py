"""Push-to-live benchmark (issue 17): `git push` over real SSH to the real platform.

    .venv/bin/python bench/bench_push.py [--runs 5] [--quota] [--app thumbs|pure]

Starts what `laambda up` runs, each in a process of its own: moto's server (as AWS), the
receiver (`laambda receiver`) and a Celery worker (`laambda worker`), on the PostgreSQL and
Redis the tests use (a fresh database, dropped at the end). Then, as medians of `--runs`:

- a code-only push of a 2-function app, with a breakdown of where its time goes, from the
  timestamps each stage writes to the trace file (laambda/trace.py) rather than from guesses;
- an empty-commit push of the same app;
  the app is `--app thumbs` (default; tests/fixtures/apps/thumbs, the app issue 17 names:
  requirements.txt = pillow, the dependency cache warm after the first, unmeasured push;
  builds with requirements need bubblewrap on the worker, `make tools`) or `--app pure`:
  Procfile `create` + `resize`, one small module each and an empty requirements.txt, so no
  wheel is installed by either side;
- a code-only push of a 50-function app (pure Python, one module per entry), a rollback of
  it to the release before sent at once (the worker is pruning old versions after the push:
  pruning gives way), then, once no pruning is left, a rollback to the pushed release (both
  sent to the worker as the API does; timed to the release's end);
- the naive pipeline on the same app and the same moto: `pip install -r requirements.txt -t`,
  `zip -r9`, one boto3 `update_function_code` per function; and the ratio.

`--quota` puts Lambda's control-plane quota in front of moto (laambda/local/quota.py: 15
requests a second shared by all Lambda calls but GetFunction, which has 100; excess answered
with TooManyRequestsException) and reports the 50-function push's deploy and the rollback
against the floor: the quota-limited calls they made / 15 per second, with where the
rollback's time went (from the proxy's timeline of Lambda calls: until its first call, its
reads before the first alias move, the moves, after the last move).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("LAAMBDA_SECRET_KEY", "bench-secret-key-that-is-long-enough-0123456789")
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[_name] = _value

import boto3  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from laambda.config import Settings, settings_env  # noqa: E402
from laambda.crypto import Cipher  # noqa: E402
from laambda.db import migrate  # noqa: E402
from laambda.db.locks import LockKind, advisory_lock  # noqa: E402
from laambda.db.models import App, Release, User  # noqa: E402
from laambda.db.session import get_engine, make_sessionmaker, session_scope  # noqa: E402
from laambda.deploy import aws  # noqa: E402
from laambda.local.quota import RATE, QuotaProxy, phases  # noqa: E402
from laambda.services.app import app_service  # noqa: E402
from laambda.services.key import key_service  # noqa: E402
from laambda.services.release import release_service  # noqa: E402
from laambda.services.user import user_service  # noqa: E402
from laambda.trace import TRACE_FILE  # noqa: E402
from laambda.worker.enqueue import CeleryQueue  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
THUMBS = ROOT / "tests" / "fixtures" / "apps" / "thumbs"
ROLE = "arn:aws:iam::123456789012:role/lambda-basic"
ADMIN_URL = os.environ.get(
    "LAAMBDA_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SSH = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes"
MOTO = """
import sys
from laambda.local import moto_versions
from moto.server import ThreadedMotoServer
moto_versions.install()
server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
server._thread.join()
"""
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}
# stages of a push, in order, as (label, from mark, to mark); "push" is the client's clock
STAGES = [
    ("ssh connect + auth", "push.start", "ssh.command"),
    ("push lock + align branch", "ssh.command", "git.start"),
    ("receive-pack", "git.start", "hook.process"),
    ("hook start (interpreter, imports)", "hook.process", "hook.ready"),
    ("source upload", "hook.ready", "push.uploaded"),
    ("build row + enqueue", "push.uploaded", "push.queued"),
    ("queue wait", "push.queued", "worker.start"),
    ("build", "worker.start", "worker.built"),
    ("release row", "worker.built", "worker.released"),
    ("deploy", "worker.released", "worker.deployed"),
    ("outcome recorded", "worker.deployed", "worker.done"),
    ("relayed to the hook", "worker.done", "push.done"),
    ("ref update + ssh close (report)", "push.done", "push.end"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        env=os.environ | GIT_ENV | (env or {}),
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def pure_app(marker: str, count: int = 2) -> dict[str, str]:
    """A pure-Python app of `count` Procfile entries (2: create and resize, as thumbs), one
    module each, an empty requirements.txt."""
    entries = ["create", "resize"] if count == 2 else [f"f{i:02d}" for i in range(count)]
    files = {"requirements.txt": "", ".python-version": "3.12\n"}
    files["Procfile"] = "".join(f"{e}: {e}_mod.handler\n" for e in entries)
    for entry in entries:
        files[f"{entry}_mod.py"] = (
            f"def handler(event, context):\n    return {entry!r}\n# {marker}\n"
        )
    return files


@dataclass
class Platform:
    """The running platform and what the benchmark needs to drive it."""

    settings: Settings
    sessions: sessionmaker[Session]
    tmp: Path
    key: Path
    port: int
    trace: Path
    proxy: QuotaProxy | None
    user_id: int = 0
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    def ssh_env(self) -> dict[str, str]:
        return {"GIT_SSH_COMMAND": f"ssh -i {self.key} -p {self.port} {SSH} -o LogLevel=ERROR"}

    def url(self, app: str) -> str:
        return f"ssh://git@127.0.0.1:{self.port}/{app}"

    def push(self, repo: Path) -> tuple[float, float, str]:
        """`git push laambda main`; (start, end) in unix seconds and what the pusher saw."""
        start = time.time()
        done = subprocess.run(
            ["git", "push", "-q", "laambda", "main"],
            cwd=repo,
            env=os.environ | self.ssh_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        end = time.time()
        if done.returncode != 0:
            raise SystemExit(f"push failed:\n{done.stderr}")
        return start, end, done.stderr

    def repo(self, name: str, files: dict[str, str] | Path) -> Path:
        path = self.tmp / "clones" / name
        if isinstance(files, Path):
            shutil.copytree(files, path)
        else:
            path.mkdir(parents=True)
            for file, body in files.items():
                (path / file).write_text(body)
        git(path, "init", "-q", "-b", "main")
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", "first")
        git(path, "remote", "add", "laambda", self.url(name))
        return path

    def create_app(self, name: str) -> int:
        with session_scope(self.sessions) as session:
            user = session.get_one(User, self.user_id)
            return app_service.create(session, user, name=name, settings=self.settings).id

    def rollback(self, app_id: int, version: int) -> tuple[float, float, float]:
        """Roll back to `version` as the API does (a release sent to the worker); seconds
        until the worker ended it, and when it started and ended (unix seconds)."""
        wall = time.time()
        start = time.perf_counter()
        with session_scope(self.sessions) as session:
            app = session.get_one(App, app_id, with_for_update=True)
            user = session.get_one(User, self.user_id)
            release = release_service.rollback(
                session,
                app,
                user=user,
                version=version,
                cipher=Cipher(self.settings.secret_key),
                applier=CeleryQueue(self.settings),
            )
            release_id = release.id
        while True:
            with session_scope(self.sessions) as session:
                status = session.get_one(Release, release_id).status
            if status in ("succeeded", "failed", "abandoned"):
                break
            time.sleep(0.005)
        seconds = time.perf_counter() - start
        if status != "succeeded":
            raise SystemExit(f"rollback to v{version} ended {status}")
        return seconds, wall, time.time()

    def settled(self, app_id: int) -> float:
        """Wait until the worker no longer holds the app's apply lock (it prunes old
        versions after the push was told its outcome); seconds waited."""
        start = time.perf_counter()
        with advisory_lock(
            get_engine(self.settings.database_url),
            LockKind.APPLY,
            app_id,
            poll=0.01,
            announce=False,  # waiting here must not make pruning give way
        ):
            pass
        return time.perf_counter() - start

    def latest_version(self, app_id: int) -> int:
        with session_scope(self.sessions) as session:
            return int(
                session.scalars(
                    select(Release.version)
                    .where(Release.app_id == app_id)
                    .order_by(Release.version.desc())
                ).first()
                or 0
            )

    def marks(self, start: float, end: float) -> dict[str, float]:
        """The first time each stage was reached between start and end."""
        found = {"push.start": start, "push.end": end}
        for line in self.trace.read_text().splitlines():
            stage, at, _ = line.split(" ", 2)
            if start <= float(at) <= end and stage not in found:
                found[stage] = float(at)
        return found


def _wait_output(process: subprocess.Popen[str], needle: str, what: str) -> None:
    ready = threading.Event()
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if needle in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(120):
        process.kill()
        raise SystemExit(f"{what} did not start:\n" + "".join(lines[-30:]))


@contextmanager
def platform(quota: bool) -> Iterator[Platform]:
    with ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="bench-push-"))
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        name = f"laambda_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))

        def drop() -> None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        stack.callback(drop)
        database_url = make_url(ADMIN_URL).set(database=name).render_as_string(False)
        migrate.upgrade(database_url)

        moto_port = free_port()
        moto = subprocess.Popen(
            [sys.executable, "-c", MOTO, str(moto_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack.callback(moto.kill)
        moto_url = f"http://127.0.0.1:{moto_port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{moto_url}/moto-api/", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        proxy = QuotaProxy(moto_url).start() if quota else None
        if proxy is not None:
            stack.callback(proxy.stop)
        settings = Settings(
            database_url=database_url,
            aws_endpoint_url=proxy.url if proxy else moto_url,
            artifact_bucket="laambda-bench-push",
            data_dir=tmp / "data",
            queue=f"laambda-bench-{uuid.uuid4().hex[:8]}",
            builder="wheels",
            applier="celery",
            ssh_port=free_port(),
            sweep_interval=3600,
            recovery_interval=3600,
            default_role=ROLE,
        )
        aws.client("iam", settings).create_role(
            RoleName="lambda-basic", AssumeRolePolicyDocument="{}"
        )
        trace = tmp / "trace"
        trace.touch()
        env = dict(os.environ) | settings_env(settings) | {TRACE_FILE: str(trace)}
        os.environ[TRACE_FILE] = str(trace)
        for what, command, needle in (
            ("worker", [sys.executable, "-m", "laambda.worker.main"], " ready."),
            (
                "receiver",
                [sys.executable, "-c", "from laambda.receiver.server import serve; serve()"],
                "receiver on",
            ),
        ):
            process = subprocess.Popen(
                command,
                env=env,
                cwd=tmp,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            stack.callback(process.wait, 30)
            stack.callback(process.terminate)
            _wait_output(process, needle, what)

        sessions = make_sessionmaker(get_engine(database_url))
        key = tmp / "bench.key"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", str(key)],
            check=True,
        )
        with session_scope(sessions) as session:
            user, _ = user_service.create(session, "bench@example.com", is_admin=True)
            key_service.add(session, user, key.with_suffix(".key.pub").read_text(), name=None)
            user_id = user.id
        running = Platform(settings, sessions, tmp, key, settings.ssh_port, trace, proxy, user_id)
        yield running


def naive(platform: Platform, app: Path, names: list[str]) -> float:
    """The naive pipeline, seconds: pip install -t, zip -r9, update-function-code each."""
    start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="naive-", dir=platform.tmp))
    build = work / "build"
    shutil.copytree(app, build, ignore=shutil.ignore_patterns(".git"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "-r", "requirements.txt", "-t", "."],
        cwd=build,
        check=True,
        capture_output=True,
    )
    subprocess.run(["zip", "-q", "-r9", str(work / "app.zip"), "."], cwd=build, check=True)
    client = boto3.client(
        "lambda", endpoint_url=platform.settings.aws_endpoint_url, region_name="us-east-1"
    )
    data = (work / "app.zip").read_bytes()
    for name in names:
        client.update_function_code(FunctionName=name, ZipFile=data)
    seconds = time.perf_counter() - start
    shutil.rmtree(work)
    return seconds


def naive_functions(platform: Platform, names: list[str]) -> None:
    client = boto3.client(
        "lambda", endpoint_url=platform.settings.aws_endpoint_url, region_name="us-east-1"
    )
    buffer = Path(tempfile.mkstemp(dir=platform.tmp)[1])
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x.py", "")
    for name in names:
        client.create_function(
            FunctionName=name,
            Role=ROLE,
            Runtime="python3.12",
            Handler="x.handler",
            Code={"ZipFile": buffer.read_bytes()},
        )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quota", action="store_true", help="Lambda's quota in front of moto")
    parser.add_argument(
        "--app",
        choices=["pure", "thumbs"],
        default="thumbs",
        help="the 2-function app: thumbs (default; Pillow, needs bubblewrap) or pure Python",
    )
    args = parser.parse_args()
    if args.app == "thumbs" and shutil.which("bwrap") is None:
        raise SystemExit("--app thumbs builds Pillow in bubblewrap: `make tools`, or --app pure")
    with platform(args.quota) as running:
        run(running, args.runs, args.app)


def run(p: Platform, runs: int, app: str) -> None:
    thumbs_id = p.create_app("thumbs")
    fifty_id = p.create_app("fifty")
    thumbs = p.repo("thumbs", THUMBS if app == "thumbs" else pure_app("0"))
    fifty = p.repo("fifty", pure_app("0", 50))
    handler = thumbs / ("CreateThumbnail.py" if app == "thumbs" else "create_mod.py")
    print("first pushes (cold dependency cache, functions created): not measured", flush=True)
    p.push(thumbs)
    p.push(fifty)
    naive_names = ["naive-create", "naive-resize"]
    naive_functions(p, naive_names)
    code: list[float] = []
    breakdown: dict[str, list[float]] = {label: [] for label, _, _ in STAGES}
    empty: list[float] = []
    empty_released: list[bool] = []
    naive_seconds: list[float] = []
    fifty_push: list[float] = []
    fifty_deploy: list[float] = []
    fifty_calls: list[int] = []
    back: list[float] = []
    back_calls: list[int] = []
    back_phases: list[list[tuple[str, float]]] = []
    back_now: list[float] = []
    back_now_calls: list[int] = []
    pruning: list[float] = []
    throttled: Counter[str] = Counter()
    for n in range(runs):
        handler.write_text(handler.read_text() + f"# run {n}\n")
        git(thumbs, "commit", "-q", "-am", f"run {n}")
        start, end, _ = p.push(thumbs)
        code.append(end - start)
        marks = p.marks(start, end)
        for label, first, last in STAGES:
            if first in marks and last in marks:
                breakdown[label].append(marks[last] - marks[first])
        git(thumbs, "commit", "-q", "--allow-empty", "-m", f"empty {n}")
        before = p.latest_version(thumbs_id)
        start, end, _ = p.push(thumbs)
        empty.append(end - start)
        empty_released.append(p.latest_version(thumbs_id) != before)
        naive_seconds.append(naive(p, thumbs, naive_names))

        for name, body in pure_app(str(n + 1), 50).items():
            (fifty / name).write_text(body)
        git(fifty, "commit", "-q", "-am", f"run {n}")
        previous = p.latest_version(fifty_id)
        if p.proxy:
            p.proxy.reset()
        start, end, _ = p.push(fifty)
        fifty_push.append(end - start)
        marks = p.marks(start, end)
        if "worker.released" in marks and "worker.deployed" in marks:
            fifty_deploy.append(marks["worker.deployed"] - marks["worker.released"])
        if p.proxy:
            fifty_calls.append(p.proxy.limited())
            throttled.update(p.proxy.throttled)
            p.proxy.reset()
        pushed = p.latest_version(fifty_id)
        # at once, as when a bad push is rolled back: the worker is pruning old versions
        # under the app's apply lock, and gives way
        seconds, start, end = p.rollback(fifty_id, previous)
        back_now.append(seconds)
        if p.proxy:
            back_now_calls.append(p.proxy.limited())
            throttled.update(p.proxy.throttled)
            p.proxy.reset()
        time.sleep(0.2)  # the worker may take the apply lock again for pruning
        pruning.append(p.settled(fifty_id))
        if p.proxy:
            p.proxy.reset()
        # the same 50 alias moves, back to the pushed release, with no pruning going on
        seconds, start, end = p.rollback(fifty_id, pushed)
        back.append(seconds)
        if p.proxy:
            back_calls.append(p.proxy.limited())
            throttled.update(p.proxy.throttled)
            back_phases.append(phases(p.proxy.history(), start, end))
        print(
            f"run {n + 1}: code {code[-1]:.2f} s, empty {empty[-1]:.2f} s, "
            f"naive {naive_seconds[-1]:.2f} s, 50-function push {fifty_push[-1]:.2f} s, "
            f"rollback right after it {back_now[-1]:.2f} s, settled rollback {back[-1]:.2f} s",
            flush=True,
        )
    report(
        p, runs, code, breakdown, empty, empty_released, naive_seconds, fifty_push,
        fifty_deploy, fifty_calls, back, back_calls, throttled, pruning, back_phases,
        back_now, back_now_calls,
    )  # fmt: skip


def report(
    p: Platform,
    runs: int,
    code: list[float],
    breakdown: dict[str, list[float]],
    empty: list[float],
    empty_released: list[bool],
    naive_seconds: list[float],
    fifty_push: list[float],
    fifty_deploy: list[float],
    fifty_calls: list[int],
    back: list[float],
    back_calls: list[int],
    throttled: Counter[str],
    pruning: list[float],
    back_phases: list[list[tuple[str, float]]],
    back_now: list[float],
    back_now_calls: list[int],
) -> None:
    quota = f"quota {RATE:.0f}/s in front of moto" if p.proxy else "no quota"
    print(f"\n{runs} runs, medians; moto, receiver and worker in processes of their own; {quota}")
    print(f"code-only push, 2 functions:            {median(code):6.2f} s   (goal <= 1.0 s)")
    for label, values in breakdown.items():
        print(f"    {label:<36} {median(values) * 1000:7.0f} ms")
    naive_median = median(naive_seconds)
    print(
        f"naive (pip -t, zip -r9, 2 x update-function-code): {naive_median:6.2f} s = "
        f"{naive_median / median(code):.1f}x the push (goal >= 6x)"
    )
    print(
        f"empty-commit push, 2 functions:         {median(empty):6.2f} s   "
        f"(goal <= 0.5 s; made a release: {sum(empty_released)} of {runs})"
    )
    print(
        f"code-only push, 50 functions:           {median(fifty_push):6.2f} s   "
        f"= {median(fifty_push) / median(code):.1f}x the 2-function push"
        + ("" if p.proxy else " (goal <= 2x)")
    )
    print(f"    of which deploy:                    {median(fifty_deploy):6.2f} s")
    print(
        f"rollback right after the push, 50 functions: {median(back_now):6.2f} s   (the "
        f"worker's pruning gives way)"
    )
    print(
        f"    then what pruning was left (waited for before the settled rollback): "
        f"{median(pruning):.2f} s"
    )
    print(f"rollback with no pruning going on, 50 functions: {median(back):6.2f} s")
    if p.proxy and fifty_calls and back_calls:
        deploy_floor = statistics.median(fifty_calls) / RATE
        back_floor = statistics.median(back_calls) / RATE
        print(
            f"with the quota: push's deploy {median(fifty_deploy):.2f} s for "
            f"{statistics.median(fifty_calls):.0f} quota-limited calls, floor {deploy_floor:.2f} s "
            f"= {median(fifty_deploy) / deploy_floor:.2f}x (goal <= 1.2x; the floor for 2 calls "
            f"a function is {100 / RATE:.2f} s)"
        )
        print(
            f"                rollback {median(back):.2f} s for "
            f"{statistics.median(back_calls):.0f} quota-limited calls, floor {back_floor:.2f} s "
            f"= {median(back) / back_floor:.2f}x (the floor for 1 call a function is "
            f"{50 / RATE:.2f} s)"
        )
        if back_now_calls:
            print(
                f"                rollback right after the push {median(back_now):.2f} s for "
                f"{statistics.median(back_now_calls):.0f} quota-limited calls (the pruning's "
                f"included) = {median(back_now) / (50 / RATE):.2f}x the floor of "
                f"{50 / RATE:.2f} s"
            )
        if back_phases and back_phases[0]:
            print("    where the rollback's time went (medians):")
            for i, (label, _) in enumerate(back_phases[0]):
                value = median([run[i][1] for run in back_phases if len(run) > i])
                shown = f"{value:.0f}" if label == "answered 429" else f"{value * 1000:.0f} ms"
                print(f"    {label:<36} {shown:>9}")
        print(f"answered 429 by the quota (retried, never shown): {dict(throttled) or 'none'}")


if __name__ == "__main__":
    main()
