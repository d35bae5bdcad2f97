"""checks, checks:set and checks:unset against a running API."""

from __future__ import annotations

import json

from laambda.crypto import Cipher
from laambda.db.models import App, User
from laambda.db.session import session_scope
from laambda.services.applier import InlineApplier
from laambda.services.release import release_service
from tests.support import factories
from tests.support.cli import Cli


def test_checks_are_set_listed_and_unset(cli: Cli) -> None:
    cli("apps:create", "thumbs")
    with session_scope(cli.sessions) as session:
        app = session.query(App).filter_by(name="thumbs").one()
        factories.bind(session)
        release_service.deploy(
            session,
            app,
            factories.build(app_id=app.id),
            user=session.query(User).one(),
            cipher=Cipher(cli.settings.secret_key),
            applier=InlineApplier(cli.sessions),
        )
    assert "No smoke checks" in cli("checks", "-a", "thumbs").stdout
    done = cli(
        "checks:set", "create", "--event", '{"rawPath": "/health"}', "--expect-status", "200",
        "-a", "thumbs",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "Smoke check of create set, expecting statusCode 200; it runs from the next release "
        "of thumbs"
    )
    rows = json.loads(cli("checks", "-a", "thumbs", "--json").stdout)
    assert rows == [{"name": "create", "event": {"rawPath": "/health"}, "expect_status": 200}]
    assert "/health" in cli("checks", "-a", "thumbs").stdout
    bad = cli("checks:set", "create", "--event", "{oops", "-a", "thumbs")
    assert bad.returncode == 1
    assert bad.stderr.startswith("laambda: --event is not JSON")
    unknown = cli("checks:set", "nope", "--event", "{}", "-a", "thumbs")
    assert unknown.returncode == 1
    assert "has no function 'nope'" in unknown.stderr
    removed = cli("checks:unset", "create", "-a", "thumbs")
    assert removed.stdout.strip() == "Smoke check of create removed from thumbs", removed.stderr
    assert json.loads(cli("checks", "-a", "thumbs", "--json").stdout) == []
