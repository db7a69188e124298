"""schemathesis against the running service's own OpenAPI description, signed in as admin.

Every operation gets generated requests; none may answer with a server error, and every
documented answer must match its schema. The operations are walked in one test (the
schemathesis pytest plugin does not support this pytest), each with a bounded number of
examples.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.auth import bearer
from tests.ioc.server import Server

EXAMPLES_PER_OPERATION = 25


def test_no_operation_answers_with_a_server_error(server: Server) -> None:
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    headers = bearer("admin")
    failures: list[str] = []
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            response = case.call(base_url=server.base_url, headers=headers, timeout=30)
            case.validate_response(response, checks=[not_a_server_error,
                                                      response_schema_conformance])

        try:
            check()
        except (Exception, BaseExceptionGroup) as err:  # noqa: BLE001 - gathered: one run shows all
            failures.append(f"{operation.label}:\n{err}")
        checked += 1
    assert checked >= 10
    assert not failures, "\n\n".join(failures)
