"""The ready-to-paste quote that ``oneclick up`` prints keeps inside the service's limits."""

import json
import shlex
from datetime import UTC, datetime, timedelta

from oneclick.cli.up import curl_example
from oneclick.domain.timestamps import parse_timestamp

NOW = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)
MANIFEST = {
    "assets": [
        {"chain": "eth:1", "symbol": "USDC", "assetId": "nep141:eth-usdc.omft.near"},
        {"chain": "eth:42161", "symbol": "USDC", "assetId": "nep141:arb-usdc.omft.near"},
    ],
    "wallets": [
        {"chain": "eth:1", "name": "alice", "address": "0xa11ce"},
        {"chain": "eth:42161", "name": "bob", "address": "0xb0b"},
    ],
}


def test_the_printed_curl_quote_has_a_deadline_the_api_accepts() -> None:
    command = curl_example("http://127.0.0.1:8080", MANIFEST, now=NOW)
    words = shlex.split(command.replace("\\\n", " "))
    body = json.loads(words[words.index("-d") + 1])
    deadline = parse_timestamp(body["deadline"], what="deadline")
    assert NOW + timedelta(seconds=60) < deadline <= NOW + timedelta(hours=24)
    assert body["originAsset"] == "nep141:eth-usdc.omft.near"
    assert body["recipient"] == "0xb0b"
