"""The contract reader on a small OpenAPI 3.0 document: what it finds in requests and answers, what an
allowance tolerates, and what documented-shape mode strips."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .contracts import Allowance, Contract
from .openapi import Spec
from .recorder import Exchange, Recorder

pytestmark = pytest.mark.anyio

DOCUMENT = """
openapi: 3.0.3
servers: [{url: "https://api.example.com/base"}]
security: [{key: []}]
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: client-id}
  parameters:
    Version: {name: X-Version, in: header, required: true, schema: {type: string, enum: ["1"]}}
  schemas:
    Thing:
      type: object
      required: [id]
      properties:
        id: {type: integer}
        note: {type: string, nullable: true}
        tags: {type: array, items: {$ref: "#/components/schemas/Tag"}}
        kind: {allOf: [{$ref: "#/components/schemas/Kind"}], nullable: true}
        meta: {type: object}
    Tag: {type: object, properties: {name: {type: string}}}
    Kind: {type: object, properties: {code: {type: string, format: date-time}}}
paths:
  /things/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
        - {$ref: "#/components/parameters/Version"}
        - {name: limit, in: query, schema: {type: integer, maximum: 10}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Thing"}}}}
        default: {description: an error}
    post:
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: "#/components/schemas/Thing"}}}
      responses:
        "201": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Thing"}}}}
        "404": {description: gone, content: {application/json: {schema: {type: object, required: [detail]}}}}
  /things/special:
    get:
      security: []
      responses: {"204": {description: nothing}}
"""
HEADERS = {"client-id": "c", "x-version": "1", "content-type": "application/json"}
THING = {
    "id": 1,
    "note": None,
    "tags": [{"name": "a", "extra": 1}],
    "kind": {"code": "2030-01-01T00:00:00Z", "x": 2},
    "meta": {"k": 1},
}


@pytest.fixture
def spec(tmp_path: Path) -> Spec:
    path = tmp_path / "things.yaml"
    path.write_text(DOCUMENT, encoding="utf-8")
    return Spec(path)


def locations(findings: object) -> list[str]:
    return sorted(f.location for f in findings)  # type: ignore[attr-defined]


def test_paths_match_below_the_server_path_literal_before_template(spec: Spec) -> None:
    special = spec.find("GET", "/base/things/special")
    assert special is not None and special.template == "/things/special"
    thing = spec.find("get", "/things/7")
    assert thing is not None and thing.key == "GET /things/{id}"
    assert spec.find("DELETE", "/things/7") is None and spec.template_of("/things/7") == "/things/{id}"


def test_a_request_is_checked_for_parameters_headers_credentials_and_body(spec: Spec) -> None:
    get = spec.find("GET", "/things/x")
    assert get is not None
    found = list(get.check_request("/things/x", "limit=11&color=red", {"x-version": "2"}, b"", required_headers={}))
    assert locations(found) == [
        "header.Authorization",
        "header.X-Version $",
        "path.id $",
        "query.color",
        "query.limit $",
    ]
    assert list(get.check_request("/things/3", "limit=10", HEADERS, b"", required_headers={})) == []
    missing = list(get.check_request("/things/3", "", HEADERS, b"", required_headers={"X-Other": "v"}))
    assert [(f.location, f.message) for f in missing] == [("header.X-Other", "must be 'v'; sent None")]

    post = spec.find("POST", "/things")
    assert post is None  # no collection route in the document
    post = spec.find("POST", "/things/3")
    assert post is not None
    assert locations(post.check_request("/things/3", "", HEADERS, b"", required_headers={})) == ["body"]
    bad = json.dumps({"id": "one", "note": None}).encode()
    [finding] = post.check_request("/things/3", "", HEADERS, bad, required_headers={})
    assert (finding.location, finding.schema) == ("body $.id", "#/components/schemas/Thing/properties/id/type")


def test_an_answer_is_checked_against_the_schema_for_its_status(spec: Spec) -> None:
    get = spec.find("GET", "/things/3")
    assert get is not None
    assert list(get.check_answer(200, "application/json", json.dumps(THING).encode())) == []  # nullable read
    late = {**THING, "kind": {"code": "tomorrow"}}
    assert locations(get.check_answer(200, "application/json", json.dumps(late).encode())) == ["body $.kind"]
    assert locations(get.check_answer(500, "application/json", b'{"detail": "x"}')) == ["body"]  # default: no body
    post = spec.find("POST", "/things/3")
    assert post is not None
    assert locations(post.check_answer(409, "application/json", b"{}")) == ["status"]
    assert locations(post.check_answer(201, "text/html", b"<html>")) == ["header.Content-Type"]


def test_documented_shape_keeps_only_declared_properties_through_refs_and_combinators(spec: Spec) -> None:
    get = spec.find("GET", "/things/3")
    assert get is not None
    pointer = get.answer_schema(200, "application/json")
    assert pointer is not None
    assert spec.prune(pointer, {**THING, "invented": True}) == {
        "id": 1,
        "note": None,
        "tags": [{"name": "a"}],
        "kind": {"code": "2030-01-01T00:00:00Z"},
        "meta": {"k": 1},  # a free-form object keeps everything
    }


def test_an_allowance_tolerates_what_it_names_and_can_stand_in_for_an_operation(spec: Spec) -> None:
    envelope = Allowance(
        "things", "*", r"body \$", "wrapped errors", "the docs", message="wrapped", statuses=("4XX",), envelope="error"
    )
    stand_in = Allowance(
        "things", "DELETE /things/{id}", "operation", "delete", "the SDK", answer_as="POST /things/{id}"
    )
    contract = Contract("things", [spec], (envelope, stand_in))
    gone = Exchange("things", "POST", "/things/3", "", HEADERS, b'{"id": 3}', 404, {"content-type": "application/json"})
    gone.answer = b'{"error": {"detail": "no such thing"}}'
    deleted = Exchange("things", "DELETE", "/things/3", "", HEADERS, b"", 201, {"content-type": "application/json"})
    deleted.answer = b'{"id": "3"}'
    problems, allowed = contract.classify([*contract.check(gone), *contract.check(deleted)])
    assert [(p.operation, p.side, p.location) for p in problems] == [("DELETE /things/{id}", "answer 201", "body $.id")]
    assert [(p.location, a.tolerated) for p, a in allowed] == [("body $", "wrapped errors"), ("operation", "delete")]
    shaped = contract.shape("POST", "/things/3", 404, "application/json", b'{"error": {"detail": "x", "more": 1}}')
    assert json.loads(shaped) == {"error": {"detail": "x", "more": 1}}  # {type: object, required}: free-form


def test_an_allowance_can_keep_a_property_another_source_documents(spec: Spec) -> None:
    keep = Allowance("things", "POST /things/{id}", r"body \$\.tags\.extra", "extra", "the docs", keep="tags.extra")
    contract = Contract("things", [spec], (keep,))
    answer = json.dumps({**THING, "invented": 1}).encode()
    shaped = json.loads(contract.shape("POST", "/things/3", 201, "application/json", answer))
    assert "invented" not in shaped and shaped["tags"] == [{"name": "a", "extra": 1}]
    created = Exchange(
        "things", "POST", "/things/3", "", HEADERS, b'{"id": 3}', 201, {"content-type": "application/json"}
    )
    created.answer = answer
    problems, allowed = contract.classify(contract.check(created))
    assert problems == [] and [(p.location, p.message) for p, _ in allowed] == [
        ("body $.tags.extra", "1 undeclared properties kept")
    ]


async def test_the_recorder_records_and_sends_the_documented_shape(spec: Spec) -> None:
    async def thing(request: Request) -> JSONResponse:
        return JSONResponse({**THING, "invented": True})

    app = Starlette(routes=[Route("/base/things/{id}", thing)])
    recorder = Recorder({"things": Contract("things", [spec])})
    transport = httpx2.ASGITransport(app=recorder.middleware("things", app))
    async with httpx2.AsyncClient(transport=transport, base_url="https://api.example.com") as client:
        answer = await client.get("/base/things/3?limit=2", headers={"client-id": "c", "X-Version": "1"})
    assert "invented" not in answer.json() and answer.json()["tags"] == [{"name": "a"}]
    assert int(answer.headers["content-length"]) == len(answer.content)
    [exchange] = recorder.exchanges
    assert (exchange.method, exchange.path, exchange.query, exchange.status) == (
        "GET",
        "/base/things/3",
        "limit=2",
        200,
    )
    assert exchange.shaped and b"invented" in exchange.answer
