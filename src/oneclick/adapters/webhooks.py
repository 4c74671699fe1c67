"""``HttpWebhookSender``: the ``WebhookSender`` port over httpx (no redirects: a signed event
goes only where the operator pointed it)."""

from __future__ import annotations

import httpx

from oneclick.domain.errors import TemporaryError


class HttpWebhookSender:
    def __init__(self, timeout_s: float = 10.0) -> None:
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TemporaryError(f"{type(exc).__name__}") from exc
        return response.status_code

    async def aclose(self) -> None:
        await self._client.aclose()
