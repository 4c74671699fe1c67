"""``_StatusAnswers`` (api/hot.py): a hit on an entry that another read replaced or dropped
while this one awaited its checks still answers, and leaves the cache as that read left it."""

from decimal import Decimal

from oneclick.api.hot import _Rendered, _StatusAnswers

ID = "0b0b8f1c-3f55-4a57-9a39-5a1b6c0c6a1e"


def _entry(stamp: str) -> _Rendered:
    return _Rendered(stamp, ("a", "b"), {"a": Decimal(1)}, b'{"correlationId":"', b'"}')


def test_a_hit_on_a_dropped_entry_answers_and_keeps_the_newer_one() -> None:
    answers = _StatusAnswers(size=1)
    old = _entry("s1")
    answers._entries[("x", None)] = old
    newer = _entry("s2")
    answers._entries[("x", None)] = newer  # another read rendered it meanwhile
    answers.hit(("x", None), old, "s3")
    assert answers.peek(("x", None)) is newer
    del answers._entries[("x", None)]  # ... or dropped it
    answers.hit(("x", None), old, "s4")
    assert answers.peek(("x", None)) is None
    assert old.answer(ID).body == b'{"correlationId":"' + ID.encode() + b'"}'
    assert old.stamp == "s4"
