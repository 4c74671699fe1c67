"""NEP-145 storage registration paid by the operator account (near-sdk-rs
``near-contract-standards/src/fungible_token/storage_impl.rs``): a token that requires it
(wrap.near, USDC) refuses an ``ft_transfer`` to an account that never paid ``storage_deposit``
("The account … is not registered", ``core_impl.rs``). The operator pays
``storage_balance_bounds().min`` in NEAR for the custody account (before a user's deposit) and
for a payout's receiver of an NEP-141 other than wNEAR (whose ``storage_deposit`` the SDK would
buy in wNEAR with a fee quote, which the engine does not do).
"""

from __future__ import annotations

import logging

from nearintents.near_tx import TGAS, FunctionCall
from nearintents.rpc import Finality
from oneclick.domain.errors import TemporaryError
from oneclick.services.boundary import calling
from oneclick.services.engine.context import EngineContext

logger = logging.getLogger(__name__)

STORAGE_GAS = 10 * TGAS  # near/intents' STORAGE_DEPOSIT_GAS for the same call


async def register_on_token(ctx: EngineContext, contract: str, account_id: str) -> None:
    """Make ``account_id`` registered on ``contract`` (nothing if it is), the operator paying."""
    near, signer = ctx.near, ctx.near_signer
    if near is None or signer is None:
        raise TemporaryError(f"{account_id} is not registered on {contract} and no NEAR operator "
                             "account is configured to pay its storage_deposit")  # fmt: skip
    async with calling("NEAR RPC (storage_balance_of)"):
        # At the head: a registration sent a block ago must not be paid twice.
        held = await near.view(contract, "storage_balance_of", {"account_id": account_id},
                               finality=Finality.OPTIMISTIC)  # fmt: skip
        if held is not None:
            return
        bounds = await near.view(contract, "storage_balance_bounds", {})
    try:
        minimum = int(bounds["min"])
    except (TypeError, KeyError, ValueError) as exc:
        raise TemporaryError(f"{contract} answered unreadable storage_balance_bounds") from exc
    call = FunctionCall("storage_deposit", {"account_id": account_id, "registration_only": True},
                        gas=STORAGE_GAS, deposit=minimum)  # fmt: skip
    async with calling("NEAR RPC (operator storage_deposit)"):
        nonce, block = await near.access_key(signer.operator_account_id, signer.operator_public_key)
        registered = await near.send_tx(
            signer.sign_as_operator(contract, nonce + 1, block, [call]).base64
        )
    if not registered.succeeded:
        raise TemporaryError(f"the operator could not register {account_id} on {contract}")
    logger.info("%s registered on %s by the operator", account_id, contract,
                extra={"action": "storage_deposit"})  # fmt: skip
