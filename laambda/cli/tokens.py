"""API tokens: your own, and deploy tokens that may only deploy one app (for CI)."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from laambda.cli import credentials
from laambda.cli.client import ApiClient, CliError
from laambda.cli.common import JsonOption, api, command, err, out, print_json

tokens = typer.Typer()

PREFIX = 8  # the characters of a token the server keeps and shows beside its hash
_DURATION = re.compile(r"^\s*(?P<count>\d+)\s*(?P<unit>[dwy]?)\s*$")
_DAYS = {"": 1, "d": 1, "w": 7, "y": 365}


def expiry_days(text: str) -> int:
    """'90d', '12w', '1y' or '30' (days) as days; CliError for anything else."""
    match = _DURATION.match(text.lower())
    days = int(match["count"]) * _DAYS[match["unit"]] if match else 0
    if not 1 <= days <= 3650:
        raise CliError(
            f"--expires '{text}' is not a duration of 1 day to 10 years: write e.g. 90d, 12w, 1y"
        )
    return days


@command(tokens, "tokens")
def list_tokens(as_json: JsonOption = False) -> None:
    """Your API tokens: name, prefix, app and scope (deploy tokens), expiry, created."""
    rows: list[dict[str, Any]] = api().get("/tokens")
    if as_json:
        return print_json(rows)
    out.print("ID  NAME  PREFIX  APP  SCOPE  EXPIRES  CREATED", markup=False)
    for row in rows:
        cells = [
            str(row["id"]),
            row["name"],
            f"{row['prefix']}…",
            row.get("app") or "-",
            row.get("scope") or "full",
            (row.get("expires_at") or "never")[:16].replace("T", " "),
            row["created_at"][:16].replace("T", " "),
        ]
        out.print("  ".join(cells), markup=False)


@command(tokens, "tokens:create")
def create_token(
    app: Annotated[
        str | None, typer.Option("--app", "-a", help="the app a deploy token may deploy")
    ] = None,
    scope: Annotated[
        str | None, typer.Option(help="'deploy': may only deploy --app and read its builds")
    ] = None,
    expires: Annotated[
        str | None, typer.Option(help="refused after this long: 90d, 12w, 1y (default: never)")
    ] = None,
    name: Annotated[str | None, typer.Option(help="what it is for, e.g. 'github-actions'")] = None,
) -> None:
    """Make an API token, shown once. `--app APP --scope deploy` makes one for CI that may
    only deploy APP (`laambda deploy`) and read its builds."""
    if app is not None and scope is None:
        scope = "deploy"
    if scope is not None and scope != "deploy":
        raise CliError(f"--scope '{scope}' is not a scope: the one scope is 'deploy'")
    if scope is not None and app is None:
        raise CliError("a deploy token deploys one app: pass --app APP")
    body: dict[str, Any] = {"name": name or (f"deploy {app}" if app else "cli")}
    if app is not None:
        body["app"] = app  # a token with an app is a deploy token
    if expires is not None:
        body["expires_in_days"] = expiry_days(expires)
    row = api().post("/tokens", body)
    what = f"deploy token for {row['app']}" if row.get("app") else "token"
    until = f", expires {row['expires_at'][:16].replace('T', ' ')}" if row["expires_at"] else ""
    out.print(f"Created {what} '{row['name']}' ({row['prefix']}…{until})", markup=False)
    out.print(f"token (shown once): {row['token']}", markup=False)
    if row.get("app"):
        out.print(
            f"Keep it as secret as {row['app']}'s config: a deploy runs the code it sends with "
            "the app's config vars, which that code can read",
            markup=False,
        )


@command(tokens, "tokens:revoke")
def revoke_token(
    token: Annotated[str, typer.Argument(help="its ID, its prefix (lmb_…) or the whole token")],
    confirm: Annotated[
        str | None,
        typer.Option(
            help="the token's ID or prefix again, to revoke the token this CLI signs in with "
            "without the question"
        ),
    ] = None,
) -> None:
    """Revoke one of your tokens by ID, by a prefix that names only it, or by the whole token
    (a leaked one pasted here is matched by its hash, as signing in is): it is refused from
    now on. Revoking the token this CLI signs in with asks first: it signs you out, maybe for
    good. Messages never show more of a token than its prefix."""
    own = credentials.load().token or ""
    client = api()
    row = _find(client, token.removesuffix("…"))
    current = bool(own) and own.startswith(row["prefix"])
    if current and (confirm or "").removesuffix("…") not in (str(row["id"]), row["prefix"], own):
        err.print(
            f" !     token {row['id']} '{row['name']}' ({row['prefix']}…) is the one this CLI "
            "signs in with: revoking it signs you out, and without another token only an "
            "admin or `laambda admin create-token` on the server can let you back in",
            markup=False,
        )
        typed = typer.prompt("Type its prefix to revoke it anyway")
        if typed.removesuffix("…") not in (str(row["id"]), row["prefix"], own):
            raise CliError(f"'{_shown(typed)}' is not '{row['prefix']}': nothing was revoked")
    client.delete(f"/tokens/{row['id']}", current="true" if current else None)
    out.print(f"Revoked token {row['id']} '{row['name']}' ({row['prefix']}…)", markup=False)
    if current:
        out.print("You are signed out: `laambda login` with another token", markup=False)


def _find(client: ApiClient, wanted: str) -> dict[str, Any]:
    """The user's token `wanted` names: its ID; the whole token (by its hash, on the
    server); or a prefix of at least 4 characters naming only one token (past the kept
    prefix's characters a prefix cannot be checked: only the hash is kept). CliError naming
    no more than the prefix otherwise."""
    rows: list[dict[str, Any]] = client.get("/tokens")
    found = [r for r in rows if str(r["id"]) == wanted]
    if not found and len(wanted) > PREFIX:
        found = client.post("/tokens/find", {"token": wanted})
    if not found and len(wanted) >= 4:
        found = [r for r in rows if r["prefix"].startswith(wanted[:PREFIX])]
    if not found:
        raise CliError(f"you have no token '{_shown(wanted)}': `laambda tokens` lists them")
    if len(found) > 1:
        raise CliError(
            f"'{_shown(wanted)}' names {len(found)} tokens: give its ID (`laambda tokens`) "
            "or the whole token"
        )
    return found[0]


def _shown(text: str) -> str:
    """What of a typed token a message may repeat: never more than the kept prefix."""
    return text if len(text) <= PREFIX else f"{text[:PREFIX]}…"
