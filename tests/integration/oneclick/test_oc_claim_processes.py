"""Batched claims from two worker PROCESSES on one PostgreSQL (issue 15): each claim is one
query with ``FOR UPDATE SKIP LOCKED``; racing processes split the due swaps between them and
never both take one."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from oc_engine_kit import make_kit

SWAPS = 120
BATCH = 4  # small batches: many claims each, racing for the same rows
SCRIPT = Path(__file__).with_name("oc_claim_process.py")


@pytest.mark.postgres
async def test_two_processes_claiming_batches_never_take_the_same_swap(
    tmp_path: Path, postgres_url: str
) -> None:
    kit = await make_kit(tmp_path, database_url=postgres_url, custody_pool=SWAPS)
    try:
        ids = {(await kit.swap(await kit.quote(amount=str(100_000 + i)))).id for i in range(SWAPS)}
        now = kit.clock.now().isoformat()
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(SCRIPT),
                postgres_url,
                owner,
                now,
                str(BATCH),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            for owner in ("p1", "p2")
        ]
        try:
            for process in processes:
                assert process.stdout is not None
                assert (await process.stdout.readline()).strip() == b"ready"
            for process in processes:  # both start together
                assert process.stdin is not None
                process.stdin.write(b"go\n")
                await process.stdin.drain()
            claimed = []
            for process in processes:
                out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
                assert process.returncode == 0
                claimed.append(json.loads(out))
        finally:
            for process in processes:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
        first, second = claimed
        assert len(first) == len(set(first))
        assert len(second) == len(set(second))
        assert set(first).isdisjoint(second)  # never both
        assert set(first) | set(second) == ids  # and every due swap taken
        assert first
        assert second  # both raced: the split is the database's doing
    finally:
        await kit.client.aclose()
        await kit.world.aclose()
