"""A claiming worker process for ``test_oc_claim_processes``: says "ready", waits for a line on
stdin, then claims batches (``SqlClaims.claim``: one query, ``SKIP LOCKED``) and never releases
them, until a claim comes back empty; prints the ids it got as JSON.

    python oc_claim_process.py URL OWNER NOW_ISO BATCH
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime

from sqlalchemy import text

from oneclick.store.claims import SqlClaims
from oneclick.store.database import connect_database


async def main(url: str, owner: str, now: datetime, batch: int) -> list[str]:
    db = connect_database(url)
    try:
        claims = SqlClaims(db)
        async with db.connect() as conn:  # connected before the start: the race is the claims
            await conn.execute(text("SELECT 1"))
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # the start, given to both processes
        got: list[str] = []
        while found := await claims.claim(owner, now, 600, batch):
            got.extend(c.swap_id for c in found)
        return got
    finally:
        await db.dispose()


if __name__ == "__main__":
    url, owner, now, batch = sys.argv[1:]
    ids = asyncio.run(main(url, owner, datetime.fromisoformat(now), int(batch)))
    print(json.dumps(ids))
