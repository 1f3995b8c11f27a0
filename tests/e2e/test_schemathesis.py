"""Schemathesis against every service's OpenAPI document, over HTTP to the real processes: generated requests
(valid and not) never get a 5xx, and every documented response matches its schema. Bounded: a fixed number of
examples per operation, derandomized, so `make test` stays short and repeatable."""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.e2e.conftest import StartService, create_project_with_cli

EXAMPLES_PER_OPERATION = 25


def as_envelope(ctx: Any, value: Any) -> bytes:
    """A generated value as a Sentry envelope: an empty envelope header, then the value as one line."""
    return b"{}\n" + json.dumps(value).encode()


@pytest.mark.parametrize(
    ("module", "args"), [("pulse_ingest", ()), ("pulse_metrics", ("api",)), ("pulse_feedback", ("api",))]
)
def test_generated_requests_never_get_a_server_error_and_responses_match_their_schema(
    start_service: StartService, database_url: str, kafka_bootstrap: str, module: str, args: tuple[str, ...]
) -> None:
    project = create_project_with_cli(database_url, kafka_bootstrap, "UTC")
    service = start_service(module, *args)
    schemathesis.serializer("application/x-sentry-envelope")(as_envelope)
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    key = project.write_key if module == "pulse_ingest" else project.read_key
    headers = {"Authorization": f"Bearer {key}"}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            if "project" in (case.path_parameters or {}):
                case.path_parameters["project"] = project.project  # past authentication, into the handlers
            response = case.call(base_url=service.url, headers=headers)
            case.validate_response(response, checks=(not_a_server_error, response_schema_conformance))

        check()
    assert operations
