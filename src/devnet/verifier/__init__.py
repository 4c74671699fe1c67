"""The devnet Verifier: a faithful model of ``intents.near`` (ledger, intent executor, events,
deposits, withdrawals, salts) with NEAR-side token contracts, behind a NEAR RPC endpoint.

In-process API: :class:`Verifier`; RPC: :func:`create_app` and :class:`RpcServer`.
"""

from devnet.verifier.chain import Block, Receipt, TxRecord
from devnet.verifier.clock import Clock, ManualClock, SystemClock
from devnet.verifier.errors import InvariantViolated, VerifierError
from devnet.verifier.near_tokens import FtConfig
from devnet.verifier.rpc import create_app
from devnet.verifier.server import RpcServer, ThreadedRpcServer, serve_forever
from devnet.verifier.sinks import Payout, PayoutResult, PayoutSink
from devnet.verifier.verifier import DEFAULT_RELAYER, Verifier, VerifierConfig
from devnet.verifier.views import ViewError, ViewFailure

__all__ = [
    "DEFAULT_RELAYER",
    "Block",
    "Clock",
    "FtConfig",
    "InvariantViolated",
    "ManualClock",
    "Payout",
    "PayoutResult",
    "PayoutSink",
    "Receipt",
    "RpcServer",
    "SystemClock",
    "ThreadedRpcServer",
    "TxRecord",
    "Verifier",
    "VerifierConfig",
    "VerifierError",
    "ViewError",
    "ViewFailure",
    "create_app",
    "serve_forever",
]
