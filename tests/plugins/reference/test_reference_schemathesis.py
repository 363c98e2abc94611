"""A bounded schemathesis run against the generated OpenAPI description, on each storage: the
server must answer every generated request (schema-valid and not) as its description says,
never with a 500. About sixteen cases per operation, mode and storage keep it a CI test."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from reference_support import pair
from schemathesis import GenerationMode

from kkt_bridge.plugins.reference.app import OPENAPI_PATH
from kkt_bridge.plugins.reference.server import ReferenceBackOffice

CASES_PER_OPERATION = 16
#: KKT_BRIDGE_FUZZ_RANDOM=1 draws new cases on each run (a wider search by hand)
RANDOM = os.environ.get("KKT_BRIDGE_FUZZ_RANDOM") == "1"


@pytest.fixture
def fuzzed(backoffice_db: str) -> Iterator[tuple[ReferenceBackOffice, dict[str, str]]]:
    office = ReferenceBackOffice(backoffice_db)
    office.seed_demo()
    url = office.serve_in_thread()
    with httpx.Client(base_url=url, timeout=10) as http:
        register = pair(http, office)["Authorization"]
    try:
        yield office, {"register": register, "admin": f"Bearer {office.admin_token}"}
    finally:
        office.stop()


def _operations() -> list[Any]:
    spec = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    return [result.ok() for result in schemathesis.openapi.from_dict(spec).get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
def test_the_api_holds_its_description(
        fuzzed: tuple[ReferenceBackOffice, dict[str, str]], mode: GenerationMode) -> None:
    office, tokens = fuzzed
    failures: list[str] = []
    cases: list[Any] = []

    def fuzz(operation: Any, token: str) -> None:
        @given(case=operation.as_strategy(generation_mode=mode))
        # derandomize: CI runs the same cases every time, so a red run is reproducible
        # and never a lottery; a wider random search belongs to a manual run
        @settings(max_examples=CASES_PER_OPERATION, deadline=None, database=None,
                  derandomize=not RANDOM, suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            cases.append(case.operation.label)
            try:
                case.call_and_validate(base_url=office.url, headers={"Authorization": token},
                                       timeout=30)
            finally:
                office.set_faults(None)  # a generated fault spec must not break the next

        run()

    for operation in _operations():
        if mode is GenerationMode.POSITIVE and operation.path == "/api/v1/admin/faults" \
                and operation.method.upper() == "PUT":
            continue  # a fault spec is a small language a JSON schema cannot describe
        try:
            fuzz(operation, tokens["admin" if "/admin/" in operation.path else "register"])
        except Unsatisfiable:
            continue  # nothing in this operation can be made invalid (no parameters)
        except (Exception, BaseExceptionGroup) as exc:  # what schemathesis found, shrunk
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:3000])
    assert not failures, "\n\n".join(failures[:10])
    assert len(cases) >= 10 * len(set(cases))  # every operation ran about a dozen cases
