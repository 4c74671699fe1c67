"""The devnet Solver Relay: solver-relay-v2's JSON-RPC (``quote``, ``publish_intent(s)``,
``get_status``) and solver WebSocket on loopback, settling through the in-process Verifier.

``async with Relay(verifier) as relay, RelayServer(relay) as server:`` then point
``HttpSolverRelay(server.url)`` and solvers (``server.ws_url``) at it.
"""

from devnet.relay.app import create_app
from devnet.relay.faults import AFTER_EXECUTE, SimulatedCrash
from devnet.relay.publisher import Gate, PublishOutcome
from devnet.relay.quotes import QuoteRejected, SolverQuote
from devnet.relay.relay import Relay, RelayConfig
from devnet.relay.server import RelayServer

__all__ = [
    "AFTER_EXECUTE",
    "Gate",
    "PublishOutcome",
    "QuoteRejected",
    "Relay",
    "RelayConfig",
    "RelayServer",
    "SimulatedCrash",
    "SolverQuote",
    "create_app",
]
