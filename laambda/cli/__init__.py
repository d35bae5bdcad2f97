"""The command-line client: Typer commands (main.py and one module per topic) over the REST
API (client.py, httpx).

May import: laambda.cli, laambda.local (the runtime `laambda run` runs an artifact in),
laambda.building (the client-side checks of `laambda deploy`), laambda.domain and the
foundation. Never db/ or services/: the client talks to the API. Exception: serverside.py runs
the server-side commands (laambda.server_commands, laambda.up), imported inside those commands
only.
"""
