"""GET /metrics on the API: Prometheus text with the swaps by status read from the database."""

from collections.abc import AsyncIterator

import httpx
import pytest
from oc_helpers import quote_request

from oneclick.adapters.prometheus import PrometheusMetrics
from oneclick.api.app import create_app
from oneclick.testing.world import FakeWorld


@pytest.fixture
async def metered(world: FakeWorld) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(world.ctx, metrics=PrometheusMetrics())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://oneclick") as http:
        yield http


async def test_metrics_count_swaps_by_status(metered: httpx.AsyncClient) -> None:
    for _ in range(2):
        assert (await metered.post("/v0/quote", json=quote_request())).status_code == 200
    response = await metered.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'oneclick_swaps{status="PENDING_DEPOSIT"} 2.0' in response.text
    assert 'oneclick_swaps{status="SUCCESS"} 0.0' in response.text
    assert "/metrics" not in (await metered.get("/openapi.json")).json()["paths"]


async def test_without_metrics_there_is_no_endpoint(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 404
