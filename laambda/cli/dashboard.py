"""`laambda dashboard`: a one-time sign-in link to the web dashboard, opened in a browser
where there is one; `laambda sessions` lists your dashboard sessions, `sessions:clear` ends
them all."""

from __future__ import annotations

import webbrowser
from typing import Any

import typer

from laambda.cli.common import AppOption, JsonOption, api, command, out, print_json

dashboard = typer.Typer()


@command(dashboard, "dashboard")
def open_dashboard(app: AppOption = None) -> None:
    """Print (and open) a sign-in link to the dashboard, good once and for a few minutes."""
    client = api()
    link = client.post("/dashboard/sign-in-links" + (f"?app={app}" if app else ""))
    url = client.url + link["path"]
    minutes = link["expires_in_minutes"]
    out.print(f"Sign in to the dashboard (link good once, for {minutes} minutes):", markup=False)
    out.print(url, markup=False, soft_wrap=True)
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return  # no browser here: the link is printed
    if _in_background(browser):
        browser.open(url)


@command(dashboard, "sessions")
def list_sessions(as_json: JsonOption = False) -> None:
    """Your dashboard sessions and the API token each one ends with (revoke it to end it)."""
    rows: list[dict[str, Any]] = api().get("/dashboard/sessions")
    if as_json:
        return print_json(rows)
    out.print("ID  TOKEN  STARTED  EXPIRES", markup=False)
    for row in rows:
        cells = [
            str(row["id"]),
            f"{row['token_name']} ({row['token_prefix']}…)",
            row["created_at"][:16].replace("T", " "),
            row["expires_at"][:16].replace("T", " "),
        ]
        out.print("  ".join(cells), markup=False)


@command(dashboard, "sessions:clear")
def clear_sessions() -> None:
    """Sign out of the dashboard everywhere (your API tokens keep working)."""
    ended = api().delete("/dashboard/sessions")["ended"]
    out.print(f"Ended {ended} dashboard session{'' if ended == 1 else 's'}", markup=False)


def _in_background(browser: webbrowser.BaseBrowser) -> bool:
    """A browser of a desktop, not one that would take over this terminal (lynx, w3m)."""
    if isinstance(browser, webbrowser.GenericBrowser):
        return isinstance(browser, webbrowser.BackgroundBrowser)
    return bool(getattr(browser, "background", True))
