"""NEP-297 event logs: the one lenient parser every reader of receipts uses
(``nearintents.events``). Logs are free text any contract prints, so what is not a well-formed
event is skipped, never an error."""

import json
from typing import Any

import pytest

from nearintents.events import event_data, parse_event


def event(standard: str, name: Any, data: Any) -> str:
    body = {"standard": standard, "version": "1.0.0", "event": name, "data": data}
    return "EVENT_JSON:" + json.dumps(body)


def test_an_event_line_is_its_object() -> None:
    line = 'EVENT_JSON:{"standard":"dip4","version":"0.3.0","event":"intents_executed","data":[]}'
    assert parse_event(line) == {
        "standard": "dip4", "version": "0.3.0", "event": "intents_executed", "data": [],
    }  # fmt: skip


@pytest.mark.parametrize(
    "line",
    [
        "Transfer 10 from a.near to b.near",  # a plain log
        "EVENT_JSON:{not json",
        "EVENT_JSON:[1, 2]",  # JSON, not an object
        'EVENT_JSON:"text"',
        " EVENT_JSON:{}",  # the prefix starts the line or it is not an event
        "",
    ],
)
def test_what_is_not_an_event_object_is_none(line: str) -> None:
    assert parse_event(line) is None


def test_entries_of_the_named_events_of_the_standard_in_order() -> None:
    logs = [
        "a plain log",
        event("nep245", "mt_mint", [{"n": 1}, {"n": 2}]),
        event("nep141", "mt_mint", [{"n": "other standard"}]),
        event("nep245", "mt_transfer", [{"n": "not asked for"}]),
        event("nep245", "mt_burn", [{"n": 3}]),
    ]
    found = list(event_data(logs, standard="nep245", events=("mt_mint", "mt_burn")))
    assert found == [("mt_mint", {"n": 1}), ("mt_mint", {"n": 2}), ("mt_burn", {"n": 3})]


@pytest.mark.parametrize("data", [5, "text", {"n": 1}, None, True])
def test_a_data_that_is_not_a_list_is_skipped(data: Any) -> None:
    """An int once made a reader iterate ``5``: a TypeError out of a log line."""
    logs = [event("nep141", "ft_transfer", data), event("nep141", "ft_transfer", [{"n": 1}])]
    assert list(event_data(logs, standard="nep141", events=["ft_transfer"])) == [
        ("ft_transfer", {"n": 1})
    ]


def test_entries_that_are_not_objects_and_odd_names_are_skipped() -> None:
    logs = [
        event("dip4", "intents_executed", ["h", 1, None, {"intent_hash": "x"}]),
        event("dip4", ["intents_executed"], [{"intent_hash": "y"}]),  # a name that is a list
        event("dip4", None, [{"intent_hash": "z"}]),
    ]
    assert list(event_data(logs, standard="dip4", events={"intents_executed"})) == [
        ("intents_executed", {"intent_hash": "x"})
    ]
