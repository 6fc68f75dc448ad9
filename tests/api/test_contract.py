"""The OpenAPI document is the contract: schemathesis drives every operation of the running app on
loopback with generated valid and invalid requests (bounded examples), and every answer is checked
against the document: no 500, a documented status, a documented content type, a matching body."""
from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from app.services import discussions
from app.services import polls as poll_service
from tests.api.conftest import later, token_for
from tests.factories import GroupFactory, member

CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance, checks.negative_data_rejection]


@pytest.fixture
def scene(live_server, clean_app, outbox):
    """A group with a thread, a comment and an open poll, and a write token of one of its admins."""
    from datetime import datetime

    from app.extensions import db

    group = GroupFactory(handle="club", name="Club", privacy="closed")
    admin = member(group, role="admin")
    thread = discussions.start_thread(actor_id=admin.id, group_id=group.id, title="Roof", body="Leaks")
    comment = discussions.post_comment(actor_id=admin.id, discussion_id=thread.id, body="Fix it")
    poll = poll_service.create_poll(actor_id=admin.id, group_id=group.id, poll_type="proposal", title="Fix it?",
                                    closing_at=datetime.fromisoformat(later().replace("Z", "+00:00")))
    token = token_for(admin, "write")
    ids = {"handle": "club", "thread_id": thread.id, "comment_id": comment.id, "poll_id": poll.id}
    db.session.commit()
    return {"token": token, "ids": ids, "base": live_server}


EXAMPLES = 2  # per operation and mode (20 operations × 2 modes, each valid and invalid): about 10 s


def test_every_operation_answers_as_the_document_says(scene):
    """(schemathesis's own pytest plugin does not load under pytest 9, so the strategies are driven here.)"""
    from hypothesis import given
    from schemathesis.generation import GenerationMode

    api = schemathesis.openapi.from_url(f"{scene['base']}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {scene['token']}"}
    tried = 0
    for result in api.get_all_operations():
        operation = result.ok()
        aimed = {p.name: scene["ids"][p.name] for p in operation.path_parameters if p.name in scene["ids"]}
        strategies = [operation.as_strategy(GenerationMode.POSITIVE, path_parameters=aimed or None),
                      operation.as_strategy(GenerationMode.NEGATIVE)]
        for strategy in strategies:
            @given(case=strategy)
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case):
                case.call_and_validate(headers=headers, checks=CHECKS)

            run()
        tried += 1
    from app.api.schema import OPERATIONS

    assert tried == len(OPERATIONS)


def test_an_invalid_request_is_refused_exactly_as_the_document_says(scene):
    """The document's own schema for a body says `title` is required and `poll_type` one of nine: a
    request breaking each gets the documented 422 problem naming those fields."""
    import jsonschema

    doc = requests.get(f"{scene['base']}/api/v1/openapi.json", timeout=10).json()
    operation = doc["paths"]["/groups/{handle}/polls"]["post"]
    body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    problem_schema = doc["components"]["schemas"]["Problem"]
    bad = {"poll_type": "lottery", "closing_at": later(), "colour": "blue"}
    documented = sorted({(list(e.absolute_path) or [""])[0] or e.validator for e in
                         jsonschema.Draft202012Validator(body_schema).iter_errors(bad)})
    assert documented == ["additionalProperties", "poll_type", "required"]
    got = requests.post(f"{scene['base']}/api/v1/groups/club/polls", json=bad, timeout=10,
                        headers={"Authorization": f"Bearer {scene['token']}"})
    assert str(got.status_code) in operation["responses"] and got.status_code == 422
    assert got.headers["Content-Type"].startswith("application/problem+json")
    jsonschema.validate(got.json(), problem_schema)
    assert {e["field"] for e in got.json()["errors"]} == {"poll_type", "title", "colour"}
    # And what the document allows is accepted.
    good = requests.post(f"{scene['base']}/api/v1/groups/club/polls", timeout=10,
                         json={"poll_type": "check", "title": "Fine?", "closing_at": later()},
                         headers={"Authorization": f"Bearer {scene['token']}"})
    assert good.status_code == 201
    jsonschema.validate(good.json(), operation["responses"]["201"]["content"]["application/json"]["schema"])


def test_the_document_is_valid_openapi_3_1_and_lists_every_operation(scene):
    from openapi_spec_validator import validate

    doc = requests.get(f"{scene['base']}/api/v1/openapi.json", timeout=10).json()
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    operations = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    from app.api.schema import OPERATIONS

    assert operations == {(op.method, op.path) for op in OPERATIONS}
