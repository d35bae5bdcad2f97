"""The CLI against a running API: what a user types and what they read back."""

from __future__ import annotations

import json
import stat
import subprocess

import httpx

from laambda.crypto import Cipher
from laambda.db.models import App, Release, User
from laambda.db.session import session_scope
from laambda.deploy import aws
from laambda.objectstore import ObjectStore
from laambda.services.applier import InlineApplier
from laambda.services.release import release_service
from tests.support import factories
from tests.support.cli import LAAMBDA, Cli


def test_login_keeps_credentials_private_and_later_commands_use_them(cli: Cli) -> None:
    done = cli("login", "--api-url", cli.url, "--token", cli.token, login=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Logged in to {cli.url} as alice@example.com")
    path = cli.home / ".config" / "laambda" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"url": cli.url, "token": cli.token}
    assert cli("apps", login=False).returncode == 0
    wrong = cli("login", "--api-url", cli.url, "--token", "lmb_wrong", login=False)
    assert wrong.returncode == 1
    assert "invalid token" in wrong.stderr


def test_apps_lifecycle(cli: Cli) -> None:
    created = cli("apps:create", "thumbs", "--arch", "arm64")
    assert created.returncode == 0, created.stderr
    assert "Created thumbs (us-east-1, arm64)" in created.stdout
    assert "git remote add laambda ssh://git@127.0.0.1:2222/thumbs" in created.stdout
    listed = json.loads(cli("apps", "--json").stdout)
    assert [a["name"] for a in listed] == ["thumbs"]
    assert "Role:" in cli("apps:info", "-a", "thumbs").stdout
    refused = cli("apps:destroy", "-a", "thumbs", stdin="thumb\n")
    assert refused.returncode == 1
    assert "nothing was destroyed" in refused.stderr
    assert cli("apps:destroy", "-a", "thumbs", "--confirm", "thumbs").returncode == 0
    assert json.loads(cli("apps", "--json").stdout) == []


def test_config_changes_make_releases(cli: Cli) -> None:
    cli("apps:create", "thumbs")
    setting = cli("config:set", "BUCKET=photos", "DEBUG=1", "-a", "thumbs")
    assert setting.returncode == 0, setting.stderr
    assert setting.stdout.strip() == "Setting BUCKET, DEBUG and restarting thumbs… done, v1"
    assert cli("config:get", "BUCKET", "-a", "thumbs").stdout.strip() == "photos"
    assert "BUCKET: photos" in cli("config", "-a", "thumbs").stdout
    same = cli("config:set", "BUCKET=photos", "-a", "thumbs")
    assert "nothing changed" in same.stdout
    assert "done, v2" in cli("config:unset", "DEBUG", "-a", "thumbs").stdout
    never = cli("config:unset", "DEBUG", "-a", "thumbs")
    assert never.returncode == 0, never.stderr
    assert never.stdout.strip() == "Unsetting DEBUG… nothing changed: DEBUG is not set"
    assert "done, v3" in cli("config:clear", "-a", "thumbs").stdout
    assert json.loads(cli("config", "-a", "thumbs", "--json").stdout) == {}
    log = cli("releases", "-a", "thumbs").stdout.splitlines()
    assert log[0] == "=== thumbs releases"
    assert log[1].startswith("v3")
    assert log[1].endswith("Unset BUCKET")
    assert "alice@example.com" in log[1]
    assert "just now" in log[1]
    info = cli("releases:info", "v1", "-a", "thumbs").stdout
    assert "Config:   BUCKET, DEBUG" in info
    bad = cli("config:set", "AWS_REGION=x", "-a", "thumbs")
    assert bad.returncode == 1
    assert bad.stderr.strip() == "laambda: AWS_REGION is reserved by AWS Lambda and cannot be set"


def test_rollback_and_resources(cli: Cli) -> None:
    cli("apps:create", "thumbs")
    with session_scope(cli.sessions) as session:
        app = session.query(App).filter_by(name="thumbs").one()
        user = session.query(User).one()
        factories.bind(session)
        for _ in range(2):
            build = factories.build(app_id=app.id)
            release_service.deploy(
                session,
                app,
                build,
                user=user,
                cipher=Cipher(cli.settings.secret_key),
                applier=InlineApplier(cli.sessions),
            )
            session.flush()
    # the inline applier marks releases applied after commit
    memory = cli("resource:memory", "create", "2048", "-a", "thumbs")
    assert memory.stdout.strip() == "Set memory of create to 2048 MB… done, v3", memory.stderr
    functions = json.loads(cli("functions", "-a", "thumbs", "--json").stdout)
    assert functions[0]["memory"] == 2048
    too_much = cli("resource:timeout", "create", "901", "-a", "thumbs")
    assert too_much.returncode == 1
    assert "timeout: Input should be less than or equal to 900" in too_much.stderr
    rolled = cli("rollback", "v1", "-a", "thumbs")
    assert rolled.stdout.strip() == "Rolling back thumbs… done, v4 (Rollback to v1)", rolled.stderr
    asked = cli("rollback", "v2", "--run-release-phase", "-a", "thumbs")
    assert asked.returncode == 0, asked.stderr
    releases = json.loads(cli("releases", "-a", "thumbs", "--json").stdout)
    phases = {row["version"]: row["release_phase"] for row in releases}
    assert (phases[4], phases[5]) == (False, True)


def test_apps_info_shows_the_live_release_and_a_newer_failed_one_apart(cli: Cli) -> None:
    cli("apps:create", "thumbs")
    assert "Release:" not in cli("apps:info", "-a", "thumbs").stdout
    commits = ("1" * 40, "8d14820" + "0" * 33)
    with session_scope(cli.sessions) as session:
        app = session.query(App).filter_by(name="thumbs").one()
        factories.bind(session)
        made = [
            release_service.deploy(
                session,
                app,
                factories.build(app_id=app.id, commit=commit),
                user=session.query(User).one(),
                cipher=Cipher(cli.settings.secret_key),
                applier=InlineApplier(cli.sessions),
            ).id
            for commit in commits
        ]
    with session_scope(cli.sessions) as session:
        failed = session.get_one(Release, made[1])
        failed.status, failed.error = "failed", "smoke check failed"
    shown = cli("apps:info", "-a", "thumbs")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "Release:    v1 Deploy 1111111" in lines, shown.stdout
    assert "Failed:     v2 Deploy 8d14820 (not live)" in lines, shown.stdout
    data = json.loads(cli("apps:info", "-a", "thumbs", "--json").stdout)
    assert (data["current_release"]["version"], data["releases"][0]["version"]) == (1, 2)


def test_keys_and_access(cli: Cli) -> None:
    key = cli.home / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "me@laptop", "-f", str(key)],
        check=True,
    )
    added = cli("keys:add", str(key) + ".pub")
    assert added.returncode == 0, added.stderr
    assert "(me@laptop)" in added.stdout
    fingerprint = json.loads(cli("keys", "--json").stdout)[0]["fingerprint"]
    assert cli("keys:remove", fingerprint).returncode == 0
    assert json.loads(cli("keys", "--json").stdout) == []

    cli("apps:create", "thumbs")
    with session_scope(cli.sessions) as session:
        factories.bind(session)
        factories.user(email="bob@example.com")
    assert cli("access:add", "bob@example.com", "-a", "thumbs").returncode == 0
    emails = [u["email"] for u in json.loads(cli("access", "-a", "thumbs", "--json").stdout)]
    assert emails == ["alice@example.com", "bob@example.com"]
    assert cli("access:remove", "bob@example.com", "-a", "thumbs").returncode == 0


def test_app_from_the_git_remote_and_git_remote(cli: Cli) -> None:
    cli("apps:create", "thumbs")
    repo = cli.home / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    nothing = cli("config", cwd=repo)
    assert nothing.returncode == 1
    assert "which app?" in nothing.stderr
    assert cli("git:remote", "-a", "thumbs", cwd=repo).returncode == 0
    remote = subprocess.run(
        ["git", "remote", "get-url", "laambda"], cwd=repo, capture_output=True, text=True
    )
    assert remote.stdout.strip() == "ssh://git@127.0.0.1:2222/thumbs"
    assert cli("config:set", "AA=1", cwd=repo).stdout.strip().endswith("done, v1")


def test_errors_are_one_line_and_exit_non_zero(cli: Cli) -> None:
    missing = cli("apps:info", "-a", "nope")
    assert missing.returncode == 1
    assert missing.stderr == "laambda: app 'nope' does not exist\n"
    unreachable = subprocess.run(
        [LAAMBDA, "apps"],
        env={"HOME": str(cli.home), "LAAMBDA_API_URL": "http://127.0.0.1:9", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unreachable.returncode == 1
    assert unreachable.stderr.startswith(
        "laambda: cannot reach the laambda API at http://127.0.0.1:9"
    )


def test_builds_listing_info_cancel_and_cache_purge(cli: Cli) -> None:
    cli("apps:create", "thumbs")
    with session_scope(cli.sessions) as session:
        factories.bind(session)
        app = session.query(App).filter_by(name="thumbs").one()
        done = factories.build(app_id=app.id, commit="3f9c1ab0d2", log="-----> built\n")
        pending = factories.build(app_id=app.id, status="pending", artifact_sha256=None)
        done_id, pending_id = done.id, pending.id
    listed = json.loads(cli("builds", "-a", "thumbs", "--json").stdout)
    assert [(b["id"], b["status"]) for b in listed] == [
        (pending_id, "pending"),
        (done_id, "succeeded"),
    ]
    info = cli("builds:info", str(done_id), "-a", "thumbs")
    assert info.returncode == 0, info.stderr
    assert "3f9c1ab" in info.stdout
    assert "-----> built" in info.stdout

    cancelled = cli("builds:cancel", "-a", "thumbs")
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.strip() == f"Cancelling build {pending_id} of thumbs… cancelled"
    again = cli("builds:cancel", "-a", "thumbs")
    assert (again.returncode, again.stderr) == (1, "laambda: thumbs has no running build\n")
    refused = cli("builds:cancel", str(done_id), "-a", "thumbs")
    assert refused.returncode == 1
    assert "only a running build can be cancelled" in refused.stderr

    # the bucket exists once anything was deployed; purging before that is an API 500 (reported)
    ObjectStore(aws.s3_client(cli.settings), cli.settings.artifact_bucket).ensure_bucket()
    purged = cli("builds:cache:purge", "-a", "thumbs")
    assert purged.returncode == 0, purged.stderr
    assert purged.stdout.strip() == "Purged 0 dependency cache entries of thumbs"


def test_refusals_never_echo_secrets_or_send_private_keys(cli: Cli) -> None:
    cli("apps:create", "thumbs")
    bare = cli("config:set", "AA=1", "sk_live_secret", "-a", "thumbs")
    assert (bare.returncode, bare.stderr) == (1, "laambda: argument 2 is not KEY=VALUE\n")
    assert "sk_live_secret" not in bare.stdout + bare.stderr
    key = cli.home / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    private = cli("keys:add", str(key))
    assert private.returncode == 1
    assert private.stderr == f"laambda: {key} is a private key: add its public half, {key}.pub\n"
    assert json.loads(cli("keys", "--json").stdout) == []
    outside = cli("git:remote", "-a", "thumbs", cwd=cli.home)
    assert outside.returncode == 1
    assert outside.stderr.startswith("laambda: cannot set the laambda remote: ")
    assert len(outside.stderr.splitlines()) == 1


def test_dashboard_sessions_are_listed_and_cleared(cli: Cli) -> None:
    shown = cli("dashboard", env={"BROWSER": "true"})
    assert shown.returncode == 0, shown.stderr
    link = next(word for word in shown.stdout.split() if "/sign-in/" in word)
    assert httpx.get(link, follow_redirects=False).status_code == 303
    listed = cli("sessions")
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == 2  # the header and the session
    assert f"({cli.token[:8]}…)" in listed.stdout  # the token `laambda dashboard` was run with
    cleared = cli("sessions:clear")
    assert cleared.returncode == 0, cleared.stderr
    assert cleared.stdout.strip() == "Ended 1 dashboard session"
    assert json.loads(cli("sessions", "--json").stdout) == []
