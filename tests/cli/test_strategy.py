"""deploy-strategy, deploy-strategy:set, releases:promote and releases:abort against a
running API (the worker's side is tests/worker/test_canary.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from laambda.crypto import Cipher
from laambda.db.models import App, Release, User
from laambda.db.session import session_scope
from laambda.services.applier import InlineApplier
from laambda.services.release import release_service
from tests.support import factories
from tests.support.cli import Cli


def test_strategy_is_shown_set_and_refused_with_the_reason(cli: Cli) -> None:
    cli("apps:create", "thumbs")
    assert cli("deploy-strategy", "-a", "thumbs").stdout.strip() == "thumbs: all-at-once"
    done = cli("deploy-strategy:set", "canary", "--percent", "10", "--minutes", "5", "-a", "thumbs")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "thumbs: canary: 10% for 5 minutes, at most 0 errors; from the next release on"
    )
    shown = json.loads(cli("deploy-strategy", "-a", "thumbs", "--json").stdout)
    assert (shown["strategy"], shown["seconds"]) == ("canary", 300)
    bad = cli("deploy-strategy:set", "canary", "--percent", "100", "--minutes", "5", "-a", "thumbs")
    assert bad.returncode == 1
    assert "percent must be 1..99" in bad.stderr
    back = cli("deploy-strategy:set", "all-at-once", "-a", "thumbs")
    assert back.stdout.strip() == "thumbs: all-at-once; from the next release on", back.stderr


def test_releases_show_a_canary_and_abort_is_refused_without_one(cli: Cli) -> None:
    cli("apps:create", "thumbs")
    nothing = cli("releases:abort", "-a", "thumbs")
    assert nothing.returncode == 1
    assert "has no release in a canary" in nothing.stderr
    with session_scope(cli.sessions) as session:
        app = session.query(App).filter_by(name="thumbs").one()
        factories.bind(session)
        release = release_service.deploy(
            session,
            app,
            factories.build(app_id=app.id),
            user=session.query(User).one(),
            cipher=Cipher(cli.settings.secret_key),
            applier=InlineApplier(cli.sessions),
        )
        release_id = release.id
    with session_scope(cli.sessions) as session:
        row = session.get_one(Release, release_id)
        row.status = "canary"
        row.canary_percent = 10
        row.canary_started_at = datetime.now(UTC)
        row.canary_ends_at = datetime(2026, 11, 30, 10, 42, 7, tzinfo=UTC) + timedelta(days=1)
    listed = cli("releases", "-a", "thumbs").stdout
    assert "[canary: 10% until 10:42:07 UTC]" in listed


def _canary(cli: Cli, *, ends_at: datetime) -> None:
    """thumbs v1 live (thumbs-create on version 3), v2 in a canary sending 50% to version 4."""
    with session_scope(cli.sessions) as session:
        app = session.query(App).filter_by(name="thumbs").one()
        factories.bind(session)
        user = session.query(User).one()
        made = []
        for _ in range(2):
            made.append(
                release_service.deploy(
                    session,
                    app,
                    factories.build(app_id=app.id),
                    user=user,
                    cipher=Cipher(cli.settings.secret_key),
                    applier=InlineApplier(cli.sessions),
                ).id
            )
    with session_scope(cli.sessions) as session:
        first, second = (session.get_one(Release, made[0]), session.get_one(Release, made[1]))
        first.status = "succeeded"
        first.function_versions = {"thumbs-create": "3", "thumbs-resize": "3"}
        second.status = "canary"
        second.function_versions = None
        second.canary_percent = 50
        second.canary_started_at = datetime.now(UTC)
        second.canary_ends_at = ends_at
        second.canary_versions = {"thumbs-create": "4", "thumbs-resize": "3"}
        second.canary_previous = {"thumbs-create": "3", "thumbs-resize": "3"}


ENDS = datetime(2026, 11, 30, 10, 42, 7, tzinfo=UTC) + timedelta(days=365)


def test_apps_info_shows_what_live_serves_during_a_canary(cli: Cli) -> None:
    cli("apps:create", "thumbs")
    _canary(cli, ends_at=ENDS)
    shown = cli("apps:info", "thumbs")  # the app as an argument, as apps:update takes it
    assert shown.returncode == 0, shown.stderr
    assert "thumbs-create (CreateThumbnail.handler, 1024 MB, 10 s, live: 3 (50% → 4))" in (
        shown.stdout
    ), shown.stdout
    assert "live: 3)" in shown.stdout  # thumbs-resize: unchanged, fully on 3
    assert "[canary: 50% until 10:42:07 UTC]" in shown.stdout
    data = json.loads(cli("apps:info", "-a", "thumbs", "--json").stdout)
    create = next(f for f in data["functions"] if f["function_name"] == "thumbs-create")
    assert (create["lambda_version"], create["canary_version"], create["canary_percent"]) == (
        "3",
        "4",
        50,
    )


def test_apps_destroy_takes_the_app_as_an_argument(cli: Cli) -> None:
    missing = cli("apps:destroy", "nope", "--confirm", "nope")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "laambda: app 'nope' does not exist"


def test_a_change_behind_a_canary_says_what_it_waits_for_once(cli: Cli) -> None:
    cli("apps:create", "thumbs")
    _canary(cli, ends_at=ENDS)
    changed = cli("config:set", "BUCKET=photos", "-a", "thumbs")
    assert changed.returncode == 0, changed.stderr
    note = (
        "v3 is waiting for the canary of v2 to end (at 10:42:07 UTC; `laambda "
        "releases:promote` / `releases:abort` end it now)"
    )
    assert changed.stdout.count(note) == 1, changed.stdout
