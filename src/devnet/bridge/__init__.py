"""The devnet PoA bridge: deposits from the devnet chains into the verifier as ``*.omft.near``
tokens and withdrawals back out, behind the bridge's JSON-RPC (PROTOCOL.md §4)."""

from devnet.bridge.bridge import BridgeRequestError, PoaBridge
from devnet.bridge.faults import (
    AFTER_BROADCAST,
    AFTER_CREDIT,
    AFTER_RECORD,
    Faults,
    SimulatedCrash,
)
from devnet.bridge.rpc import BridgeServer, create_app
from devnet.bridge.tokens import DEFAULT_CONFIRMATIONS, BridgedToken, default_tokens

__all__ = [
    "AFTER_BROADCAST",
    "AFTER_CREDIT",
    "AFTER_RECORD",
    "DEFAULT_CONFIRMATIONS",
    "BridgeRequestError",
    "BridgeServer",
    "BridgedToken",
    "Faults",
    "PoaBridge",
    "SimulatedCrash",
    "create_app",
    "default_tokens",
]
