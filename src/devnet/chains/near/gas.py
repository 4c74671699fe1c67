"""Gas on the devnet's NEAR chain: what a signed transaction costs its signer.

nearcore charges the signer before anything runs (``verify_and_charge_transaction`` in
runtime/runtime/src/verifier.rs, ``tx_cost`` in runtime/runtime/src/config.rs): the gas price
times the send fees and the prepaid gas, plus the attached deposits. A signer whose balance is
below that total is refused with ``InvalidTxError::NotEnoughBalance { signer_id, balance, cost }``
and nothing is recorded. After execution, unused prepaid gas is refunded, so what the signer
finally loses is the gas burnt. The devnet models that with fixed per-action burns taken from
nearcore's fee parameters (core/parameters/res/runtime_configs/parameters.yaml:
``action_receipt_creation`` 108_059_500_000 and ``action_transfer`` 115_123_062_500 send and
execute each, ``action_function_call`` 2_319_861_500_000 each) plus a flat amount for the
contract's own work: one transfer burns ~0.45 Tgas, one function call ~7.9 Tgas.
"""

from __future__ import annotations

from devnet.chains.near.transactions import Action, FunctionCall, SignedTransaction

GAS_PRICE = 100_000_000  # yoctoNEAR per gas: nearcore's min_gas_price on mainnet
TGAS = 10**12
RECEIPT_CREATION = 108_059_500_000
TRANSFER_FEE = 115_123_062_500
FUNCTION_CALL_FEE = 2_319_861_500_000
CONTRACT_WORK = 3 * TGAS  # the contract's own execution, a flat figure on the devnet
MAX_PREPAID_GAS = 300 * TGAS


def send_gas(action: Action) -> int:
    fee = FUNCTION_CALL_FEE if isinstance(action, FunctionCall) else TRANSFER_FEE
    return RECEIPT_CREATION + fee


def burnt_gas(action: Action) -> int:
    """Gas a successful or failed action burns (send + execute + the contract's work)."""
    if isinstance(action, FunctionCall):
        return 2 * send_gas(action) + min(CONTRACT_WORK, action.gas)
    return 2 * send_gas(action)


def upfront_cost(tx: SignedTransaction) -> int:
    """``tx_cost``: what the signer must hold before the transaction is accepted."""
    total = 0
    for action in tx.actions:
        prepaid = action.gas if isinstance(action, FunctionCall) else 0
        total += (send_gas(action) + prepaid) * GAS_PRICE + action.deposit
    return total


def tokens_burnt(tx: SignedTransaction) -> tuple[int, int]:
    """``(gas_burnt, tokens_burnt)`` the signer finally pays for ``tx``."""
    gas = sum(burnt_gas(a) for a in tx.actions)
    return gas, gas * GAS_PRICE
