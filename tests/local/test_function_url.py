"""A function URL added with `event-sources:add FUNCTION http` answers real HTTP requests on
this machine: the request becomes the payload 2.0 event, the answer becomes the response."""

from __future__ import annotations

import json
import re

import httpx

from tests.support.cli import Cli
from tests.support.local import LiveApp


def test_function_url_answers_http(cli: Cli, node_app: LiveApp) -> None:
    added = cli("event-sources:add", "url", "http", "-a", node_app.name)
    assert added.returncode == 0, added.stderr
    found = re.search(r"http://127\.0\.0\.1:\d+/[0-9a-f]+/", added.stdout)
    assert found, added.stdout
    url = found.group(0)
    listed = json.loads(cli("event-sources", "url", "-a", node_app.name, "--json").stdout)
    assert [row["url"] for row in listed] == [url]

    answer = httpx.post(url + "items/7?color=red&color=blue", content=b"a body", timeout=30)
    assert answer.status_code == 201
    assert answer.headers["x-seen-path"] == "/items/7"
    assert answer.headers["content-type"] == "text/plain"
    assert answer.text == "POST /items/7 color=red&color=blue a body"

    json_answer = cli("event-sources:add", "hi", "http", "-a", node_app.name)
    hi_url = re.search(r"http://127\.0\.0\.1:\d+/[0-9a-f]+/", json_answer.stdout)
    assert hi_url, json_answer.stdout
    plain = httpx.get(
        hi_url.group(0), timeout=30
    )  # no statusCode: the answer is the JSON body, 200
    assert plain.status_code == 200
    assert plain.json()["event"]["requestContext"]["http"]["method"] == "GET"
    assert plain.json()["event"]["rawPath"] == "/"

    failing = httpx.post(hi_url.group(0), json={"fail": True}, timeout=30)
    assert failing.status_code == 502
    assert httpx.get(url.rsplit("/", 2)[0] + "/0123abcd/").status_code == 404
