"""A running canary on the dashboard, in Chromium against the real platform: the app page
shows what `live` serves (the stable version and the canary's share), when the window ends
and the errors so far; a collaborator promotes or aborts it with the page's buttons."""

from __future__ import annotations

import re
from datetime import UTC

import pytest
from playwright.sync_api import Page, expect

from laambda.db.models import Collaborator
from laambda.db.session import session_scope
from laambda.services.user import user_service
from tests.support.canary import Background, alias, release, use_canary, wait_canary
from tests.support.dashboard import COMMIT_1, COMMIT_2, Dashboard, deployed
from tests.support.platform import python_app


def _as_collaborator(dashboard: Dashboard, app_id: int) -> Page:
    with session_scope(dashboard.platform.sessions) as session:
        bob, token = user_service.create(session, "bob@example.com")
        session.add(Collaborator(app_id=app_id, user_id=bob.id))
    page = dashboard.context().new_page()
    page.goto(dashboard.url + "/")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()
    return page


@pytest.mark.usefixtures("local_runtime")
def test_a_collaborator_sees_the_canary_and_promotes_it(dashboard: Dashboard) -> None:
    platform = dashboard.platform
    app = deployed(dashboard, "birds", [COMMIT_1])
    use_canary(platform, app, percent=50, seconds=540)
    push = Background(platform, app, python_app(["web"], marker="2"), COMMIT_2)
    running = wait_canary(platform, app)
    assert running.canary_ends_at is not None
    page = _as_collaborator(dashboard, app.id)

    page.goto(f"{dashboard.url}/apps/birds")
    canary = page.locator("#canary")
    ends = f"{running.canary_ends_at.astimezone(UTC):%H:%M:%S} UTC"
    expect(canary).to_contain_text(f"v2 gets 50% of traffic until {ends}")
    expect(canary).to_contain_text(re.compile(r"(no errors read yet|0 errors so far)"))
    expect(canary).to_contain_text("(at most 0)")
    # live serves version 1, half of its invocations going to version 2: not "not deployed"
    row = page.get_by_role("row", name=re.compile("birds-web"))
    expect(row).to_contain_text("1 50% → 2")
    expect(row).not_to_contain_text("not deployed")
    expect(page.get_by_role("button", name="Abort")).to_be_visible()
    dashboard.shot(page, "canary")

    page.get_by_role("button", name="Promote v2").click()
    expect(page.get_by_role("heading", name="Releases")).to_be_visible()
    pushed = push.result(timeout=60)
    assert pushed.outcome.status == "succeeded", pushed.text + pushed.outcome.detail
    assert "canary promoted by bob@example.com" in pushed.text
    done = alias(platform, "birds-web")
    assert done["FunctionVersion"] == "2"
    assert "RoutingConfig" not in done
    # a page of its own: the releases page refreshes itself while a release was under way when
    # it loaded, and that refresh would abort a navigation of this page
    after = page.context.new_page()
    after.goto(f"{dashboard.url}/apps/birds")
    expect(after.locator("#canary")).to_have_count(0)
    expect(after.get_by_role("row", name=re.compile("birds-web"))).to_contain_text("2")


@pytest.mark.usefixtures("local_runtime")
def test_abort_from_the_app_page_needs_its_csrf_token(dashboard: Dashboard) -> None:
    platform = dashboard.platform
    app = deployed(dashboard, "fish", [COMMIT_1])
    use_canary(platform, app, percent=20, seconds=540)
    push = Background(platform, app, python_app(["web"], marker="2"), COMMIT_2)
    wait_canary(platform, app)
    page = _as_collaborator(dashboard, app.id)
    page.goto(f"{dashboard.url}/apps/fish")

    page.locator("form[action$='/canary/abort'] input[name=csrf]").evaluate(
        "input => input.value = 'forged'"
    )
    page.get_by_role("button", name="Abort").click()
    expect(page.get_by_role("alert")).to_contain_text("CSRF token is missing or wrong")
    assert release(platform, app, 2).canary_decision is None  # nothing was asked

    page.goto(f"{dashboard.url}/apps/fish")
    page.get_by_role("button", name="Abort").click()
    pushed = push.result(timeout=60)
    assert pushed.outcome.status == "failed", pushed.text
    assert "canary aborted by bob@example.com; live is back on v1" in pushed.outcome.detail
    assert alias(platform, "fish-web")["FunctionVersion"] == "1"
