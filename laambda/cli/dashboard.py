"""`laambda dashboard`: a one-time sign-in link to the web dashboard, opened in a browser
where there is one."""

from __future__ import annotations

import webbrowser

import typer

from laambda.cli.common import AppOption, api, command, out

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


def _in_background(browser: webbrowser.BaseBrowser) -> bool:
    """A browser of a desktop, not one that would take over this terminal (lynx, w3m)."""
    if isinstance(browser, webbrowser.GenericBrowser):
        return isinstance(browser, webbrowser.BackgroundBrowser)
    return bool(getattr(browser, "background", True))
