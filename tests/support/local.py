"""Apps whose functions are live in moto with real code (Python and Node.js), run by the
local runtime: the code, the functions and how they are released."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from laambda.db.models import App, Collaborator, User
from laambda.db.session import session_scope
from laambda.deploy import aws
from laambda.deploy.functions import FunctionSpec
from laambda.deploy.lambda_ import Deployer
from laambda.objectstore import ObjectStore
from tests.support import factories
from tests.support.archives import zip_of
from tests.support.aws import ROLE, ensure_role
from tests.support.cli import Cli
from tests.support.released import deploy

PYTHON_CODE = {
    "main.py": """\
import os
import time

print("main imported")


def hello(event, context):
    print("hello from the handler", event)
    return {
        "event": event,
        "function": context.function_name,
        "memory": context.memory_limit_in_mb,
        "left_ms": context.get_remaining_time_in_millis(),
        "greeting": os.environ.get("GREETING"),
        "handler": os.environ["_HANDLER"],
        "region": os.environ["AWS_REGION"],
    }


def boom(event, context):
    print("about to fail")
    raise ValueError("boom: " + str(event.get("why")))


def slow(event, context):
    print("sleeping")
    time.sleep(30)
""",
}


NODE_CODE = {
    "index.js": """\
console.log("index loaded");
exports.hi = async (event, context) => {
  console.log("hi from node", JSON.stringify(event));
  if (event.fail || String(event.body).includes("fail")) throw new TypeError("node says no");
  return { node: process.version, event, function: context.functionName };
};
exports.url = async (event) => ({
  statusCode: 201,
  headers: { "content-type": "text/plain", "x-seen-path": event.rawPath },
  body: [event.requestContext.http.method, event.rawPath, event.rawQueryString, event.body]
    .join(" "),
});
""",
}


PYTHON_FUNCTIONS = {
    "hello": ("main.hello", 10),
    "boom": ("main.boom", 10),
    "slow": ("main.slow", 1),
}


NODE_FUNCTIONS = {"hi": ("index.hi", 10), "url": ("index.url", 10)}


@dataclass
class LiveApp:
    name: str
    artifact: Path


def release(
    cli: Cli,
    tmp_path: Path,
    *,
    runtime: str,
    code: dict[str, str],
    functions: dict[str, tuple[str, int]],
    environment: dict[str, str],
) -> LiveApp:
    """Record an app with a deploy release of `functions` and make them live in moto."""
    with session_scope(cli.sessions) as session:
        factories.bind(session)
        user = session.query(User).one()
        app = factories.app(name=f"rt{os.urandom(4).hex()}", owner_id=user.id)
        session.add(Collaborator(app_id=app.id, user_id=user.id))
        session.commit()
        procfile = {entry: handler for entry, (handler, _) in functions.items()}
        deploy(session, app, user, cli.settings, procfile=procfile, runtime=runtime)
        name = session.query(App).filter_by(id=app.id).one().name
    ensure_role(cli.settings)
    store = ObjectStore(aws.s3_client(cli.settings), cli.settings.artifact_bucket)
    store.ensure_bucket()
    path = zip_of(code, tmp_path / f"{name}.zip")
    specs = [
        FunctionSpec(
            name=entry,
            handler=handler,
            runtime=runtime,
            architecture="x86_64",
            role=ROLE,
            memory=256,
            timeout=timeout,
            environment=environment,
        )
        for entry, (handler, timeout) in functions.items()
    ]
    deployer = Deployer(aws.lambda_client(cli.settings), store, concurrency=4, log=lambda _: None)
    deployer.deploy(
        name,
        specs,
        artifact=path,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        description="v1",
    )
    return LiveApp(name, path)
