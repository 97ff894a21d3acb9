"""A property-based run over the API's own OpenAPI schema (schemathesis, a bounded number of
examples per operation, SQLite): no 5xx, and every answer conforms to the schema it declares."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import positive_data_acceptance

from registry.api import create_app
from registry.commands import Actor, Award
from test_api_support import definition

EXAMPLES = 15
OPERATOR = Actor("test")


@pytest.fixture
def running(open_registry):
    # No rate limit to speak of: every generated request must reach its endpoint.
    registry = open_registry(REGISTRY_API_RATE_PER_MINUTE="1000000")
    # Something to find: an issuer with an achievement, a credential and an endorsement.
    registry.commands.issuers.register(slug="acme", name="Acme", actor=OPERATOR)
    registry.commands.issuers.register(slug="partner", name="Partner", actor=OPERATOR)
    achievement = registry.commands.achievements.define(issuer="acme", actor=OPERATOR,
                                                        definition=definition("Teamwork")).id
    registry.commands.credentials.issue(Award("ada@example.org", achievement), actor=OPERATOR)
    registry.commands.endorsements.endorse(by="partner", subject="acme", comment="Good", actor=OPERATOR)
    app = create_app(registry, stream_seconds=0.2, poll_seconds=0.05)
    return app, registry.access.keys.create(issuer=None)[0]


@pytest.fixture
def api_schema(running):
    app, _ = running
    return schemathesis.openapi.from_asgi("/schema/openapi.json", app)


@pytest.mark.parametrize("store_kind", ["sqlite"])  # one store is enough for the property run
def test_no_server_error_and_answers_match_the_schema(api_schema, running):
    # Driven by hand (not schemathesis' pytest plugin, which does not support this pytest).
    _, admin = running
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.generate])
        def run(case) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {admin}"}
            # Domain rules (slug syntax, known ids) go beyond the schema: a valid-looking request
            # may be refused with 422, so only that check is left out.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
