"""Every HTTP call to a peer (relay, NEAR RPC, prices, bridge) goes through httpcore, which asks
``sniffio`` which async library runs it, several times per request. Without ``sniffio``
installed each ask is a failed import, i.e. a search of every ``sys.path`` entry: about 0.6 ms
of CPU per call on the bench machine (bench/, issue 15). The dependency is pinned for that."""

from importlib.machinery import PathFinder
from typing import Any

import pytest
from httpcore._synchronization import current_async_library


async def test_httpcore_finds_the_async_library_without_searching_for_modules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    searched: list[str] = []
    find_spec = PathFinder.find_spec

    def counting(name: str, path: Any = None, target: Any = None) -> Any:
        searched.append(name)
        return find_spec(name, path, target)

    monkeypatch.setattr(PathFinder, "find_spec", counting)
    for _ in range(3):
        assert current_async_library() == "asyncio"
    assert searched == []
