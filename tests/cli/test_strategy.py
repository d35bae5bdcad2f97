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
from tests import factories
from tests.cli.conftest import Cli


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
