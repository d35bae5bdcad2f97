"""What a person sees and does in the dashboard, in Chromium, against the real platform."""

from __future__ import annotations

import re
import threading
import time

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from laambda.db.models import App, Collaborator, Release
from laambda.db.session import session_scope
from laambda.logstream import LogPublisher
from laambda.services.build import build_service
from laambda.services.user import user_service
from tests.support.archives import tarball
from tests.support.dashboard import COMMIT_1, COMMIT_2, Dashboard, deployed
from tests.support.platform import python_app

# records when lines reach the page's log (each server-sent event appends one)
WATCH_LOG = """() => {
  window.deliveries = [];
  const log = document.getElementById("log");
  new MutationObserver(() => window.deliveries.push(log.childNodes.length))
    .observe(log, {childList: true});
}"""


def _signed_in(dashboard: Dashboard, page: Page) -> None:
    page.goto(dashboard.link(dashboard.platform.user))
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()


def test_sign_in_with_the_one_time_link_shows_the_apps(dashboard: Dashboard) -> None:
    deployed(dashboard, "photos", [COMMIT_1])
    context = dashboard.context()
    page = context.new_page()
    link = dashboard.link(dashboard.platform.user, "photos")
    page.goto(dashboard.url + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    dashboard.shot(page, "sign-in")

    page.goto(link)
    expect(page.get_by_role("heading", name="photos")).to_be_visible()  # -a APP opens it
    cookie = next(c for c in context.cookies() if c["name"] == "laambda_session")
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Lax")
    page.get_by_role("link", name="Apps", exact=True).first.click()
    row = page.get_by_role("row", name=re.compile("photos"))
    expect(row).to_contain_text("python3.12")
    expect(row).to_contain_text("x86_64")
    expect(row).to_contain_text("v1")
    expect(row).to_contain_text("alice@example.com")
    expect(row).to_contain_text("succeeded")
    dashboard.shot(page, "apps")

    used = context.new_page()
    used.goto(link)  # a link is good once
    expect(used.get_by_role("alert")).to_contain_text("already used or has expired")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    # the old cookie is dead after signing out
    context.add_cookies([{"name": cookie["name"], "value": cookie["value"], "url": dashboard.url}])
    page.goto(dashboard.url + "/apps/photos")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    context.close()


def test_roll_back_from_the_releases_page(dashboard: Dashboard) -> None:
    deployed(dashboard, "thumbs", [COMMIT_1, COMMIT_2])
    platform = dashboard.platform
    with session_scope(platform.sessions) as session:
        v1 = session.scalars(select(Release).where(Release.version == 1)).one()
        v1_lambda_version = (v1.function_versions or {})["thumbs-web"]
    assert platform.live("thumbs-web")["Version"] != v1_lambda_version
    context = dashboard.context()
    page = context.new_page()
    _signed_in(dashboard, page)
    page.get_by_role("link", name="thumbs").click()
    page.get_by_role("link", name="Releases").click()
    rows = page.locator("table.releases tbody tr")
    expect(rows.nth(0)).to_contain_text("v2")
    expect(rows.nth(0)).to_contain_text("Deploy 5d6e7f8")
    expect(rows.nth(0)).to_contain_text("live")
    expect(rows.nth(1)).to_contain_text("Deploy 1a2b3c4")

    page.get_by_role("link", name="Roll back to v1").click()
    expect(page.get_by_role("heading", name="Roll back to v1?")).to_be_visible()
    page.get_by_role("button", name="Yes, roll back to v1").click()

    newest = page.locator("table.releases tbody tr").nth(0)
    expect(newest).to_contain_text("v3")
    expect(newest).to_contain_text("Rollback to v1")
    expect(newest).to_contain_text("succeeded", timeout=60_000)  # the page refreshes itself
    expect(newest).to_contain_text("live")
    assert platform.live("thumbs-web")["Version"] == v1_lambda_version  # the alias moved
    dashboard.shot(page, "releases")
    context.close()


def test_a_build_log_appears_line_by_line(dashboard: Dashboard) -> None:
    """A running build's page follows its log stream (what the worker writes) to the end."""
    platform = dashboard.platform
    app = platform.create_app("logs")
    with session_scope(platform.sessions) as session:
        build = build_service.create(
            session,
            session.get_one(App, app.id),
            user=platform.user,
            commit=COMMIT_1,
            source_key="sources/logs/held.tar.gz",
            queue=_Held(),
        )
        build.status = "running"
        build_id, uid = build.id, build.uid
    context = dashboard.context()
    page = context.new_page()
    _signed_in(dashboard, page)
    page.goto(f"{dashboard.url}/apps/logs/builds/{build_id}")
    log = page.locator("#log")
    publisher = LogPublisher(platform.streams, uid)
    lines = [f"-----> step {n} of 4" for n in range(1, 5)]
    release_lines = threading.Event()

    def emit() -> None:
        release_lines.wait(10)
        for line in lines:
            publisher.line(line)
            time.sleep(0.6)
        publisher.finish("succeeded", "Released v1: logs-web")

    writer = threading.Thread(target=emit)
    writer.start()
    release_lines.set()
    expect(log).to_contain_text("step 1 of 4")
    assert "step 4 of 4" not in log.inner_text()  # line by line, not all at the end
    expect(page.locator("#outcome")).to_contain_text("following the log")
    expect(log).to_contain_text("step 4 of 4")
    expect(page.locator("#outcome")).to_contain_text("succeeded")
    expect(page.locator("#outcome")).to_contain_text("Released v1: logs-web")
    writer.join()
    dashboard.shot(page, "build-log")
    context.close()


def test_a_pushed_build_is_followed_to_its_outcome(dashboard: Dashboard) -> None:
    """The page is open before the worker starts: the real build's lines reach it as the
    worker writes them, in several deliveries, and then the outcome."""
    platform = dashboard.platform
    app = platform.create_app("pushed")
    context = dashboard.context()
    page = context.new_page()
    _signed_in(dashboard, page)
    key = "sources/pushed/pushed.tar.gz"
    platform.store.put_bytes(key, tarball(python_app(["web"])))
    with session_scope(platform.sessions) as session:
        build = build_service.create(
            session,
            session.get_one(App, app.id),
            user=platform.user,
            commit=COMMIT_1,
            source_key=key,
            queue=_Held(),
        )
        build_id = build.id
    page.goto(f"{dashboard.url}/apps/pushed/builds/{build_id}")
    expect(page.locator("#build-status")).to_contain_text("pending")
    page.evaluate(WATCH_LOG)
    platform.worker.queue.build(build_id)  # pushed: the worker takes it now
    outcome = page.locator("#outcome")
    expect(outcome).to_contain_text("Released v1: pushed-web", timeout=120_000)
    expect(page.locator("#log")).to_contain_text("-----> Built artifact sha256:")
    # the log's length at each delivery: line by line, not one block at the end (how far apart
    # in time depends on the machine: a warm one builds and releases this app in 50 ms)
    deliveries: list[int] = page.evaluate("window.deliveries")
    assert len(deliveries) > 2, deliveries
    assert deliveries[0] < deliveries[-1] / 2, deliveries
    page.get_by_role("link", name="Builds").click()
    expect(page.get_by_role("row", name=re.compile(f"#{build_id}"))).to_contain_text("succeeded")
    dashboard.shot(page, "builds")

    token = dashboard.token(platform.user)
    for source in ("http", "schedule:rate(5 minutes)"):
        added = httpx.post(
            f"{dashboard.url}/v1/apps/pushed/functions/web/event-sources",
            json={"source": source},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,  # the API calls the cloud; a loaded CI machine can take more than 5 s
        )
        assert added.is_success, added.text
    lambda_client = platform.lambda_client
    url = lambda_client.get_function_url_config(FunctionName="pushed-web", Qualifier="live")
    page.get_by_role("link", name="Overview").click()
    row = page.get_by_role("row", name=re.compile("pushed-web"))
    expect(row).to_contain_text("web_mod.handler")
    expect(row).to_contain_text(f"function URL: {url['FunctionUrl']}")
    expect(row).to_contain_text("schedule")
    expect(row).to_contain_text("1024 MB")
    expect(row).to_contain_text("10 s")
    expect(page.locator("#git-url")).to_have_value(re.compile(r"^ssh://git@.+/pushed$"))
    dashboard.shot(page, "app")
    page.get_by_role("link", name="Activity").last.click()
    expect(page.get_by_role("row", name=re.compile("build.create"))).to_be_visible()
    dashboard.shot(page, "activity")
    context.close()


def test_reveal_one_config_value(dashboard: Dashboard) -> None:
    platform = dashboard.platform
    app = platform.create_app("settings")
    platform.change_config(app, {"BUCKET": "photos-7f3a", "API_KEY": "sk-very-secret-91"})
    context = dashboard.context()
    page = context.new_page()
    _signed_in(dashboard, page)
    page.goto(f"{dashboard.url}/apps/settings/config")
    assert "photos-7f3a" not in page.content()
    assert "sk-very-secret-91" not in page.content()
    expect(page.locator("#key-BUCKET .value")).to_have_text("********")
    page.locator("#key-BUCKET").get_by_role("link", name="Reveal").click()
    expect(page.locator("#key-BUCKET .value")).to_have_text("photos-7f3a")
    assert "sk-very-secret-91" not in page.content()  # one key at a time
    dashboard.shot(page, "config")

    page.get_by_label("Key").fill("REGION")
    page.get_by_label("Value").fill("eu-west-1")
    page.get_by_role("button", name="Set", exact=True).click()
    newest = page.locator("table.releases tbody tr").nth(0)
    expect(newest).to_contain_text("Set REGION")
    context.close()


def test_a_collaborator_cannot_see_another_users_app(dashboard: Dashboard) -> None:
    platform = dashboard.platform
    platform.create_app("alices")  # alice's
    with session_scope(platform.sessions) as session:
        bob, token = user_service.create(session, "bob@example.com")
    bobs = platform.create_app("bobs-app")
    with session_scope(platform.sessions) as session:
        session.add(Collaborator(app_id=bobs.id, user_id=bob.id))
    context = dashboard.context()
    page = context.new_page()
    page.goto(dashboard.url + "/")
    page.get_by_label("API token").fill(token)  # the sign-in page takes an API token
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()
    expect(page.get_by_role("link", name="bobs-app")).to_be_visible()
    expect(page.get_by_role("link", name="alices")).to_have_count(0)
    response = page.goto(f"{dashboard.url}/apps/alices/releases")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("you are not a collaborator of 'alices'")
    dashboard.shot(page, "refused")
    response = page.goto(f"{dashboard.url}/activity?app=alices")
    assert response is not None
    assert response.status == 403
    context.close()


def test_a_form_without_its_csrf_token_is_refused(dashboard: Dashboard) -> None:
    platform = dashboard.platform
    app = deployed(dashboard, "forms", [COMMIT_1, COMMIT_2])
    context = dashboard.context()
    page = context.new_page()
    _signed_in(dashboard, page)
    page.goto(f"{dashboard.url}/apps/forms/releases/1/rollback")
    page.locator("form.confirm input[name=csrf]").evaluate("input => input.remove()")
    page.get_by_role("button", name="Yes, roll back to v1").click()
    expect(page.get_by_role("alert")).to_contain_text("CSRF token is missing or wrong")
    page.goto(f"{dashboard.url}/apps/forms/config")
    page.locator("form.set-config input[name=csrf]").evaluate("input => input.value = 'forged'")
    page.get_by_label("Key").fill("DEBUG")
    page.get_by_label("Value").fill("1")
    page.get_by_role("button", name="Set", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("CSRF token is missing or wrong")
    dashboard.shot(page, "csrf")
    with session_scope(platform.sessions) as session:
        count = session.scalar(select(func.count()).where(Release.app_id == app.id))
        assert count == 2  # neither form made a release
    context.close()


class _Held:
    """A build queue that keeps the build away from the worker (the test plays the worker)."""

    def build(self, build_id: int) -> None:
        del build_id


def test_the_api_docs_work_offline(dashboard: Dashboard) -> None:
    context = dashboard.context()
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(dashboard.url + "/docs")
    expect(page.get_by_text("/v1/apps/{app}/rollback").first).to_be_visible()
    dashboard.shot(page, "docs")
    assert requested
    assert all(url.startswith(dashboard.url) for url in requested), requested
    context.close()
