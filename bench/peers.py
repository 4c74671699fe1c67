"""The fakes world's peers for workers in other processes: the coordinator serves its fake relay,
bridge and verifier (one ledger) on a Unix socket, and its fake clock through a shared file, so
that every worker process steps swaps against the same world at the same simulated moment.

The wire is length-prefixed pickle frames between our own processes (never a network): a call
``(id, peer, method, args, kwargs)`` and its answer ``(id, ok, value-or-exception)``; a worker's
concurrent steps share its one connection. A peer call therefore costs a local round trip, as a
real peer costs a network one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import mmap
import os
import pickle
import struct
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_FRAME = struct.Struct("!I")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SLOTS = struct.Struct("!qqq")  # the clock (microseconds since the epoch), "go", "stop"


class SharedClock:
    """The simulated time, in a file every process maps: the coordinator sets it, workers read
    it (``Clock``). Also carries the coordinator's "go" and "stop" to the workers."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        if create:
            path.write_bytes(bytes(_SLOTS.size))
        self._file = path.open("r+b")
        self._map = mmap.mmap(self._file.fileno(), _SLOTS.size)

    def now(self) -> datetime:
        micros, _, _ = _SLOTS.unpack_from(self._map)
        return _EPOCH + timedelta(microseconds=micros)

    def set(self, moment: datetime) -> None:
        struct.pack_into("!q", self._map, 0, (moment - _EPOCH) // timedelta(microseconds=1))

    def advance(self, delta: timedelta) -> None:
        self.set(self.now() + delta)

    @property
    def going(self) -> bool:
        return bool(_SLOTS.unpack_from(self._map)[1])

    @property
    def stopped(self) -> bool:
        return bool(_SLOTS.unpack_from(self._map)[2])

    def go(self) -> None:
        struct.pack_into("!q", self._map, 8, 1)

    def stop(self) -> None:
        struct.pack_into("!q", self._map, 16, 1)

    def close(self) -> None:
        self._map.close()
        self._file.close()


async def _read(reader: asyncio.StreamReader) -> Any:
    (size,) = _FRAME.unpack(await reader.readexactly(_FRAME.size))
    return pickle.loads(await reader.readexactly(size))  # noqa: S301 - our own processes


def _frame(value: Any) -> bytes:
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return _FRAME.pack(len(body)) + body


async def serve(path: Path, peers: dict[str, object]) -> asyncio.Server:
    """Answer calls on ``peers`` (by name) at the Unix socket ``path``."""

    async def call(writer: asyncio.StreamWriter, request: tuple[Any, ...]) -> None:
        call_id, peer, method, args, kwargs = request
        try:
            value = await getattr(peers[peer], method)(*args, **kwargs)
            answer = (call_id, True, value)
        except Exception as exc:  # handed to the caller, as a remote peer's failure would be
            answer = (call_id, False, exc)
        writer.write(_frame(answer))

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pending: set[asyncio.Task[None]] = set()
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                task = asyncio.create_task(call(writer, await _read(reader)))
                pending.add(task)
                task.add_done_callback(pending.discard)
        writer.close()

    return await asyncio.start_unix_server(connection, path=os.fspath(path))


class PeerClient:
    """One connection to the coordinator's peers; :meth:`peer` gives a proxy per peer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self._ids = itertools.count()
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._receiver = asyncio.create_task(self._receive())

    @classmethod
    async def connect(cls, path: Path) -> PeerClient:
        reader, writer = await asyncio.open_unix_connection(os.fspath(path))
        return cls(reader, writer)

    async def _receive(self) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                call_id, ok, value = await _read(self._reader)
                future = self._waiting.pop(call_id)
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    async def call(self, peer: str, method: str, *args: Any, **kwargs: Any) -> Any:
        call_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = future
        self._writer.write(_frame((call_id, peer, method, args, kwargs)))
        return await future

    def peer(self, name: str) -> Any:
        return _Proxy(self, name)

    async def aclose(self) -> None:
        self._receiver.cancel()
        self._writer.close()


class _Proxy:
    """Every attribute is an async method of the remote peer (the ports are all async)."""

    def __init__(self, client: PeerClient, name: str) -> None:
        self._client, self._name = client, name

    def __getattr__(self, method: str) -> Callable[..., Coroutine[Any, Any, Any]]:
        async def remote(*args: Any, **kwargs: Any) -> Any:
            return await self._client.call(self._name, method, *args, **kwargs)

        return remote
