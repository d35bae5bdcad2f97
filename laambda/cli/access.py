"""login, SSH keys, an app's collaborators and (for admins) users."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import typer

from laambda.cli import credentials
from laambda.cli.client import ApiClient, CliError
from laambda.cli.common import AppOption, JsonOption, api, command, out, print_json
from laambda.cli.common import resolve_app as resolve

access = typer.Typer()


@command(access, "login")
def login(
    api_url: Annotated[str | None, typer.Option(help="the laambda API")] = None,
    token: Annotated[str | None, typer.Option(help="your API token")] = None,
) -> None:
    """Keep the API URL and your token for the other commands (in a file only you can read)."""
    url = api_url or typer.prompt("API URL", default=credentials.load().url)
    secret = token or typer.prompt("API token", hide_input=True)
    found = credentials.Credentials(url=url, token=secret)
    me = ApiClient(found).get("/me")
    path = credentials.save(found)
    out.print(f"Logged in to {url} as {me['email']} (saved in {path})", markup=False)


@command(access, "keys")
def keys(as_json: JsonOption = False) -> None:
    """Your SSH keys (they let you `git push`)."""
    rows = api().get("/keys")
    if as_json:
        return print_json(rows)
    if not rows:
        out.print("You have no SSH keys. Add one with `laambda keys:add`.")
    for row in rows:
        out.print(f"{row['fingerprint']}  {row['name']}", markup=False)


@command(access, "keys:add")
def keys_add(key_file: Annotated[Path | None, typer.Argument()] = None) -> None:
    """Add an SSH public key (default: ~/.ssh/id_ed25519.pub, then ~/.ssh/id_rsa.pub)."""
    path = key_file or _default_key()
    if not path.exists():
        raise CliError(f"{path} does not exist")
    public_key = path.read_text()
    if "PRIVATE KEY" in public_key:  # a private key must never leave the machine
        raise CliError(f"{path} is a private key: add its public half, {path}.pub")
    row = api().post("/keys", {"public_key": public_key})
    out.print(f"Added key {row['fingerprint']} ({row['name']})", markup=False)


def _default_key() -> Path:
    for name in ("id_ed25519.pub", "id_rsa.pub"):
        candidate = Path.home() / ".ssh" / name
        if candidate.exists():
            return candidate
    raise CliError("no ~/.ssh/id_ed25519.pub or ~/.ssh/id_rsa.pub: make one with ssh-keygen")


@command(access, "keys:remove")
def keys_remove(key: str) -> None:
    """Remove an SSH key, by fingerprint (SHA256:…) or name."""
    api().delete(f"/keys/{key}")
    out.print(f"Removed key {key}", markup=False)


@command(access, "access")
def collaborators(app: AppOption = None, as_json: JsonOption = False) -> None:
    """Who may change and push the app; its owner may also destroy, transfer and share it."""
    name = resolve(app)
    client = api()
    rows = client.get(f"/apps/{name}/collaborators")
    if as_json:
        return print_json(rows)
    owner = client.get(f"/apps/{name}")["owner"]
    for row in rows:
        roles = ["owner" if row["email"] == owner else "collaborator"]
        roles += ["admin"] if row["is_admin"] else []
        out.print(f"{row['email']}  ({', '.join(roles)})", markup=False)


@command(access, "access:add")
def access_add(email: str, app: AppOption = None) -> None:
    """Let a user change and push the app (the owner or an admin)."""
    name = resolve(app)
    api().post(f"/apps/{name}/collaborators", {"email": email})
    out.print(f"Added {email} to {name}", markup=False)


@command(access, "access:remove")
def access_remove(email: str, app: AppOption = None) -> None:
    """Take a user's access to the app away (the owner or an admin; anyone may leave)."""
    name = resolve(app)
    api().delete(f"/apps/{name}/collaborators/{email}")
    out.print(f"Removed {email} from {name}", markup=False)


@command(access, "users")
def users(as_json: JsonOption = False) -> None:
    """Every user of the platform (admins)."""
    rows = api().get("/users")
    if as_json:
        return print_json(rows)
    for row in rows:
        role = "admin" if row["is_admin"] else "user"
        out.print(f"{row['email']}  ({role})", markup=False)


@command(access, "users:create")
def users_create(
    email: str,
    is_admin: Annotated[bool, typer.Option("--admin", help="may see and change every app")] = False,
) -> None:
    """Create a user and print their API token, shown once (admins)."""
    row = api().post("/users", {"email": email, "is_admin": is_admin})
    role = "admin" if row["is_admin"] else "user"
    out.print(f"Created {role} {row['email']}", markup=False)
    out.print(f"token (shown once): {row['token']}", markup=False)


@command(access, "users:remove")
def users_remove(email: str) -> None:
    """Delete a user, their tokens, SSH keys and dashboard sessions (admins); refused while
    they own an app or a pipeline."""
    api().delete(f"/users/{quote(email, safe='@')}")
    out.print(f"Removed user {email}", markup=False)
