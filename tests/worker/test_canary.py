"""Canary releases on the real platform: a real worker, moto's Lambda running functions with
laambda's local runtime (weighted `live` aliases routed by weight, metrics per version),
pushes followed as the pusher sees them."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
from sqlalchemy import select

from laambda.api import present
from laambda.db.models import App, AuditEvent, Release, User
from laambda.db.session import session_scope
from laambda.domain.strategy import CanaryDecision
from laambda.services.strategy import strategy_service
from tests.support.canary import Background, alias, release, use_canary, wait_canary
from tests.support.crash import kill_pool, push_watched, wait_for
from tests.support.platform import Platform, python_app

BROKEN = """\
def handler(event, context):
    raise KeyError("DATABASE_URL")
"""


def invoke_live(platform: Platform, function: str, times: int) -> list[str]:
    """The version each invocation of `live` ran."""
    ran = []
    for _ in range(times):
        answer = platform.lambda_client.invoke(FunctionName=function, Qualifier="live")
        ran.append(answer["ExecutedVersion"])
    return ran


@pytest.mark.usefixtures("local_runtime")
def test_a_canary_whose_code_raises_is_rolled_back(platform: Platform) -> None:
    app = platform.create_app("canaried")
    first = platform.push(app, python_app(["web", "worker"], marker="1"), commit="a" * 40)
    assert first.outcome.status == "succeeded", first.text + first.outcome.detail
    use_canary(platform, app, percent=50, seconds=6)

    files = python_app(["web", "worker", "extra"], marker="2")
    files["web_mod.py"] = BROKEN
    push = Background(platform, app, files, "b" * 40)
    running = wait_canary(platform, app)
    assert running.version == 2
    # live shares: the old version keeps half, the new one gets half
    web = alias(platform, "canaried-web")
    assert web["FunctionVersion"] == "1"
    assert web["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.5}}
    # a function new in this release goes fully: nothing to share with
    assert alias(platform, "canaried-extra")["FunctionVersion"] == "1"
    assert "RoutingConfig" not in alias(platform, "canaried-extra")
    ran = invoke_live(platform, "canaried-web", 10)
    assert sorted(set(ran)) == ["1", "2"]  # both versions served

    pushed = push.result()
    assert pushed.outcome.status == "failed", pushed.text
    # errors may already be counted when the pusher first hears of the canary
    assert "-----> Canary: 50% of traffic on v2 for 6 s; " in pushed.text
    # the worker decides at the first metrics read over the limit, which may come while the 10
    # invocations are still running: it counted between 1 and as many as v2 served
    counted = re.search(r"canary: (\d+) errors? in ", pushed.outcome.detail)
    assert counted is not None, pushed.outcome.detail
    assert 1 <= int(counted[1]) <= ran.count("2")
    assert "live is back on v1" in pushed.outcome.detail
    # every alias fully back on v1's versions; the new function is gone
    for name in ("canaried-web", "canaried-worker"):
        back = alias(platform, name)
        assert back["FunctionVersion"] == "1", back
        assert "RoutingConfig" not in back
    assert platform.lambda_client.list_aliases(FunctionName="canaried-web")["Aliases"]
    functions = {f["FunctionName"] for f in platform.lambda_client.list_functions()["Functions"]}
    assert "canaried-extra" not in functions
    v2 = release(platform, app, 2)
    assert v2.status == "failed"
    assert (v2.error or "").startswith(counted[0])
    assert v2.canary_decision == "rollback"
    assert invoke_live(platform, "canaried-web", 4) == ["1"] * 4
    with session_scope(platform.sessions) as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.app_name == "canaried")
        ).all()
    assert "release.canary_rollback" in actions


@pytest.mark.usefixtures("local_runtime")
def test_a_healthy_canary_completes(platform: Platform) -> None:
    app = platform.create_app("healthy")
    first = platform.push(app, python_app(["web"], marker="1"), commit="c" * 40)
    assert first.outcome.status == "succeeded", first.text + first.outcome.detail
    use_canary(platform, app, percent=10, seconds=3)

    push = Background(platform, app, python_app(["web"], marker="2"), "d" * 40)
    wait_canary(platform, app)
    assert alias(platform, "healthy-web")["RoutingConfig"] == {
        "AdditionalVersionWeights": {"2": 0.1}
    }
    # exactly one in ten goes to the new version
    assert invoke_live(platform, "healthy-web", 10).count("2") == 1
    pushed = push.result()
    assert pushed.outcome.status == "succeeded", pushed.text + pushed.outcome.detail
    assert pushed.outcome.detail == "Released v2: healthy-web"
    assert "-----> Canary: 10% of traffic on v2 for 3 s; 0 errors so far" in pushed.text
    assert "-----> Canary complete: canary healthy for 3 s" in pushed.text
    done = alias(platform, "healthy-web")
    assert done["FunctionVersion"] == "2"
    assert "RoutingConfig" not in done
    v2 = release(platform, app, 2)
    assert (v2.status, v2.function_versions) == ("succeeded", {"healthy-web": "2"})


@pytest.mark.usefixtures("local_runtime")
def test_promote_and_abort_end_a_canary_early(platform: Platform) -> None:
    app = platform.create_app("steered")
    first = platform.push(app, python_app(["web"], marker="1"), commit="e" * 40)
    assert first.outcome.status == "succeeded", first.text + first.outcome.detail
    use_canary(platform, app, percent=20, seconds=600)

    def ask(decision: CanaryDecision) -> None:
        with session_scope(platform.sessions) as session:
            strategy_service.request(
                session,
                session.get_one(App, app.id),
                decision,
                user=session.get_one(User, platform.user.id),
            )

    push = Background(platform, app, python_app(["web"], marker="2"), "f" * 40)
    wait_canary(platform, app)
    started = time.monotonic()
    ask(CanaryDecision.PROMOTE)
    promoted = push.result(timeout=60)
    assert time.monotonic() - started < 30  # not the 10-minute window
    assert promoted.outcome.status == "succeeded", promoted.text + promoted.outcome.detail
    assert "Canary promote: canary promoted by alice@example.com" in promoted.text
    assert alias(platform, "steered-web")["FunctionVersion"] == "2"
    assert "RoutingConfig" not in alias(platform, "steered-web")

    push = Background(platform, app, python_app(["web"], marker="3"), "0" * 40)
    wait_canary(platform, app)
    assert alias(platform, "steered-web")["RoutingConfig"] == {
        "AdditionalVersionWeights": {"3": 0.2}
    }
    ask(CanaryDecision.ABORT)
    aborted = push.result(timeout=60)
    assert aborted.outcome.status == "failed", aborted.text
    assert "canary aborted by alice@example.com; live is back on v2" in aborted.outcome.detail
    back = alias(platform, "steered-web")
    assert back["FunctionVersion"] == "2"
    assert "RoutingConfig" not in back
    v3 = release(platform, app, 3)
    assert (v3.status, v3.error) == (
        "failed",
        "canary aborted by alice@example.com; live is back on v2",
    )


@pytest.mark.usefixtures("local_runtime")
def test_a_canary_whose_worker_dies_is_resumed_and_completes(crash_platform: Platform) -> None:
    """The window's state is in the database: the recovery sweep sends the release again
    once its worker is gone, and the next worker watches the rest of the window."""
    platform = crash_platform
    app = platform.create_app("resumed")
    first = platform.push(app, python_app(["web"], marker="1"), commit="1" * 40)
    assert first.outcome.status == "succeeded", first.text + first.outcome.detail
    use_canary(platform, app, percent=25, seconds=8)

    second = push_watched(platform, app, python_app(["web"], marker="2"), commit="2" * 40)
    running = wait_canary(platform, app)
    kill_pool(platform)
    killed_at = time.monotonic()

    wait_for(second.ended.is_set, "the pusher was not told", platform, 60)
    assert time.monotonic() - killed_at < 60
    assert second.events[-1].status == "succeeded", second.events[-1]
    assert second.events[-1].detail == "Released v2: resumed-web"
    assert second.lines("Resuming the canary of v2 (its worker died)") == 1
    done = alias(platform, "resumed-web")
    assert done["FunctionVersion"] == "2"
    assert "RoutingConfig" not in done
    v2 = release(platform, app, 2)
    assert v2.status == "succeeded"
    # the window was not restarted by the worker that resumed it
    assert v2.canary_ends_at == running.canary_ends_at


@pytest.mark.usefixtures("local_runtime")
def test_config_changes_go_through_the_canary_and_rollbacks_do_not(platform: Platform) -> None:
    app = platform.create_app("configured")
    first = platform.push(app, python_app(["web"], marker="1"), commit="9" * 40)
    assert first.outcome.status == "succeeded", first.text + first.outcome.detail
    use_canary(platform, app, percent=30, seconds=2)

    changed = platform.wait_release(platform.change_config(app, {"BUCKET": "photos"}))
    assert changed.status == "succeeded", changed.log
    assert "-----> Canary: 30% of traffic on v2 for 2 s; 0 errors so far" in changed.log
    assert "live sends 30% of traffic to the new versions of 1 functions" in changed.log
    live = platform.live("configured-web")
    assert live["Environment"]["Variables"] == {"BUCKET": "photos"}
    assert "RoutingConfig" not in alias(platform, "configured-web")

    # a rollback goes all at once, as on Heroku
    rolled = platform.wait_release(platform.rollback(app, 1))
    assert rolled.status == "succeeded", rolled.log
    assert "Canary" not in rolled.log
    assert alias(platform, "configured-web")["FunctionVersion"] == "1"


@pytest.mark.usefixtures("local_runtime")
def test_a_release_made_during_a_canary_waits_for_it(platform: Platform) -> None:
    app = platform.create_app("queued")
    first = platform.push(app, python_app(["web"], marker="1"), commit="8" * 40)
    assert first.outcome.status == "succeeded", first.text + first.outcome.detail
    use_canary(platform, app, percent=10, seconds=4)

    push = Background(platform, app, python_app(["web"], marker="2"), "7" * 40)
    wait_canary(platform, app)
    config_id = platform.change_config(app, {"BUCKET": "later"})
    time.sleep(1.5)
    assert release(platform, app, 3).status == "pending"  # the canary of v2 still runs
    with session_scope(platform.sessions) as session:
        waiting = present.releases(session, [session.get_one(Release, config_id)])[0].waiting
    assert waiting is not None
    assert waiting.startswith("waiting for the canary of v2 to end (at "), waiting
    pushed = push.result()
    assert pushed.outcome.detail == "Released v2: queued-web", pushed.text
    changed = platform.wait_release(config_id)
    assert changed.status == "succeeded", changed.log
    v2 = release(platform, app, 2)
    assert v2.applied_at is not None
    assert changed.canary_started_at is not None
    assert changed.canary_started_at >= v2.applied_at  # one canary at a time
    assert alias(platform, "queued-web")["FunctionVersion"] == "3"


class AliasWatch:
    """Every state `live` of one function goes through, read every 20 ms in a thread."""

    def __init__(self, platform: Platform, function: str) -> None:
        self.seen: list[tuple[str, str]] = []
        self.stop = threading.Event()

        def watch() -> None:
            while not self.stop.is_set():
                now = alias(platform, function)
                weights = now.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})  # type: ignore[attr-defined]
                state = (str(now["FunctionVersion"]), json.dumps(weights, sort_keys=True))
                if not self.seen or self.seen[-1] != state:
                    self.seen.append(state)
                time.sleep(0.02)

        self.thread = threading.Thread(target=watch, daemon=True)
        self.thread.start()

    def done(self) -> list[tuple[str, str]]:
        self.stop.set()
        self.thread.join(5)
        return self.seen


@pytest.mark.usefixtures("local_runtime")
def test_a_rollback_during_a_canary_aborts_it_first(platform: Platform) -> None:
    """The canary's versions never get all of `live`: the canary is aborted (its release
    fails, naming the rollback), then the rollback applies; a release made behind the canary
    says what it waits for."""
    app = platform.create_app("regret")
    first = platform.push(app, python_app(["web"], marker="1"), commit="5" * 40)
    assert first.outcome.status == "succeeded", first.text + first.outcome.detail
    use_canary(platform, app, percent=50, seconds=8)

    push = Background(platform, app, python_app(["web"], marker="2"), "6" * 40)
    running = wait_canary(platform, app)
    watch = AliasWatch(platform, "regret-web")
    started = time.monotonic()
    rollback_id = platform.rollback(app)
    with session_scope(platform.sessions) as session:
        shown = present.releases(session, [session.get_one(Release, rollback_id)])[0]
    assert shown.version == 3
    assert running.canary_ends_at is not None
    assert shown.waiting == (
        "waiting for the canary of v2 to end (ending now: canary aborted by rollback to v1)"
    )
    rolled = platform.wait_release(rollback_id)
    seen = watch.done()
    assert ("2", "{}") not in seen, seen  # the canary's version never had all of live
    assert rolled.status == "succeeded", rolled.log
    assert time.monotonic() - started < 8  # not after the window
    assert seen[-1] == ("1", "{}"), seen
    pushed = push.result(timeout=60)
    assert pushed.outcome.status == "failed", pushed.text
    v2 = release(platform, app, 2)
    assert (v2.status, v2.error) == (
        "failed",
        "canary aborted by rollback to v1; live is back on v1",
    )
    assert invoke_live(platform, "regret-web", 4) == ["1"] * 4
