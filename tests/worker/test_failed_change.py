"""A config, resource or rollback release that fails is not kept: the app's config and
function settings are the live release's again, and the next release carries only what it
names. A real worker, moto's Lambda running the functions with laambda's local runtime,
and a smoke check that fails."""

from __future__ import annotations

import pytest

from laambda.crypto import Cipher
from laambda.db.models import App, Release
from laambda.db.session import session_scope
from laambda.services.config import config_service
from laambda.services.release import release_service
from tests.support.platform import Platform, python_app

# fails its smoke check with BROKEN set or at 512 MB
WEB = """\
import os


def handler(event, context):
    if os.environ.get("BROKEN") or os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512":
        raise KeyError("DATABASE_URL")
    return {"statusCode": 200, "body": "ok"}
"""


def web_app() -> dict[str, str]:
    files = python_app(["web"])
    files["web_mod.py"] = WEB
    return files


def config(platform: Platform, app: App) -> dict[str, str]:
    """What `laambda config` shows."""
    with session_scope(platform.sessions) as session:
        return config_service.show(
            session, session.get_one(App, app.id), Cipher(platform.worker.settings.secret_key)
        )


def released(platform: Platform, release_id: int) -> tuple[str, list[str], dict[str, object]]:
    """A release's status, its config keys (as `releases:info` shows them) and settings."""
    with session_scope(platform.sessions) as session:
        release = session.get_one(Release, release_id)
        keys = sorted(
            Cipher(platform.worker.settings.secret_key).decrypt_json(release.config_encrypted)
        )
        return release.status, keys, dict(release.function_settings or {})


def environment(platform: Platform) -> dict[str, str]:
    """The environment of the version `live` serves, as Lambda holds it."""
    return dict(platform.live("undo-web").get("Environment", {}).get("Variables", {}))


@pytest.mark.usefixtures("local_runtime")
def test_a_failed_change_is_not_kept_nor_released_with_the_next_one(
    platform: Platform,
) -> None:
    app = platform.create_app("undo")
    # v1 (no build yet) and v2: BROKEN live, before the app has a smoke check
    platform.change_config(app, {"BROKEN": "1"})
    first = platform.push(app, web_app(), commit="1" * 40)
    assert first.outcome.status == "succeeded", first.text + first.outcome.detail
    fixed = platform.wait_release(platform.change_config(app, {"BROKEN": None}))
    assert fixed.status == "succeeded", fixed.log
    platform.set_check(app, "web", {"rawPath": "/health"}, 200)

    # a config change that fails its check
    broken = platform.wait_release(platform.change_config(app, {"BROKEN": "1"}))
    assert broken.status == "failed", broken.log
    assert config(platform, app) == {}
    other = platform.wait_release(platform.change_config(app, {"OTHER": "1"}))
    assert released(platform, other.id)[:2] == ("succeeded", ["OTHER"])
    assert environment(platform) == {"OTHER": "1"}

    # a resource change that fails its check
    before = platform.live("undo-web")["MemorySize"]
    small = platform.wait_release(platform.change_resources(app, "web", memory=512))
    assert small.status == "failed", small.log
    y1 = platform.wait_release(platform.change_config(app, {"Y1": "1"}))
    status, keys, settings = released(platform, y1.id)
    assert (status, keys, settings) == ("succeeded", ["OTHER", "Y1"], {})
    assert platform.live("undo-web")["MemorySize"] == before
    # asking for 512 MB again is a change again, not "already has 512 MB"
    again = platform.wait_release(platform.change_resources(app, "web", memory=512))
    assert again.status == "failed", again.log

    # a rollback that fails its check: the config is the live one, not the target's
    back = platform.wait_release(platform.rollback(app, 2))
    assert back.status == "failed", back.log
    assert config(platform, app) == {"OTHER": "1", "Y1": "1"}
    z = platform.wait_release(platform.change_config(app, {"Z1": "1"}))
    assert released(platform, z.id)[:2] == ("succeeded", ["OTHER", "Y1", "Z1"])
    assert environment(platform) == {"OTHER": "1", "Y1": "1", "Z1": "1"}
    with session_scope(platform.sessions) as session:
        assert release_service.settings_snapshot(session, session.get_one(App, app.id)) == {}
