"""NEP-297 event logs as contracts print them: ``EVENT_JSON:`` then a JSON object
``{"standard", "version", "event", "data"}`` (NEP-297; the verifier's ``dip4`` events in
near/intents ``core/src/events.rs``, NEP-141 and NEP-245 token events in near-sdk-rs
near-contract-standards).

Reading is lenient because logs are free text any contract may print: a line that is not such an
event is skipped, never an error. What the entries say is for the caller to check."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

EVENT_PREFIX = "EVENT_JSON:"


def parse_event(line: str) -> dict[str, Any] | None:
    """The event object of a log line, or None for a plain log or one that is not a JSON object."""
    if not line.startswith(EVENT_PREFIX):
        return None
    try:
        event = json.loads(line[len(EVENT_PREFIX) :])
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def event_data(
    logs: Iterable[str], *, standard: str, events: Iterable[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(event, entry)`` for each object in the ``data`` list of the ``standard`` events named
    in ``events`` among ``logs``, in order. Other events, a ``data`` that is not a list and
    entries that are not objects are skipped."""
    wanted = frozenset(events)
    for line in logs:
        event = parse_event(line)
        if event is None or event.get("standard") != standard:
            continue
        name, data = event.get("event"), event.get("data")
        if not isinstance(name, str) or name not in wanted or not isinstance(data, list):
            continue
        for entry in data:
            if isinstance(entry, dict):
                yield name, entry
