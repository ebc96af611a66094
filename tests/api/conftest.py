"""After every API test, the daily rollup still equals a GROUP BY over the hazards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.statistics.rollup import differences


@pytest.fixture(autouse=True)
def rollup_in_step(request: pytest.FixtureRequest) -> Iterator[None]:
    """Whatever the test wrote through the API, `hazard_daily` kept up (same transaction)."""
    factory = request.getfixturevalue("session_factory")
    yield
    with factory() as session:
        assert differences(session) == []
