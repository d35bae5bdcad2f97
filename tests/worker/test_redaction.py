"""No secret the platform holds reaches a pusher's screen or a stored build log, whatever the
pushed code makes the build print."""

from __future__ import annotations

from laambda.db.models import Build
from laambda.db.session import session_scope
from laambda.domain.redact import REDACTED
from tests.support.platform import Platform, Pushed, python_app

CONFIG_VALUE = "internal-token-5f2a9c"


def _seen_and_stored(platform: Platform, pushed: Pushed) -> str:
    with session_scope(platform.sessions) as session:
        build = session.get_one(Build, pushed.build_id)
        return "\n".join([pushed.text, pushed.outcome.detail or "", build.log, build.error or ""])


def test_secret_key_and_config_values_are_hidden_from_stream_and_log(platform: Platform) -> None:
    secret_key = platform.worker.settings.secret_key
    app = platform.create_app("leaky")
    configured = platform.wait_release(platform.change_config(app, {"TOKEN": CONFIG_VALUE}))
    assert configured.status == "succeeded", configured.log

    # a failure message that quotes the pushed text (the Procfile line) carrying both values
    files = python_app(["web"])
    files["Procfile"] = f"web {secret_key} {CONFIG_VALUE}\n"
    refused = platform.push(app, files, commit="1" * 40)
    assert refused.outcome.status == "failed"
    shown = _seen_and_stored(platform, refused)
    assert f"Procfile line 1: 'web {REDACTED} {REDACTED}' is not" in shown
    assert secret_key not in shown
    assert CONFIG_VALUE not in shown

    # the installer's own output, naming both values as packages the index does not have
    files = python_app(["web"])
    files["requirements.txt"] = f"{secret_key}\n{CONFIG_VALUE}\n"
    failed = platform.push(app, files, commit="2" * 40)
    assert failed.outcome.status == "failed"
    shown = _seen_and_stored(platform, failed)
    assert "-----> Installing wheels for" in shown
    assert REDACTED in shown.split("-----> Installing wheels for", 1)[1]
    assert secret_key not in shown
    assert CONFIG_VALUE not in shown
