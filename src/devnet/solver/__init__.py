"""The devnet's reference market-maker solver: quotes on the relay's WebSocket from a USD price
feed with a spread, within its verifier inventory (also ``python -m devnet.solver``).
"""

from devnet.solver.inventory import Inventory, Reservation
from devnet.solver.pricing import TokenSpec, amount_in_for, amount_out_for, min_amount_in, rate
from devnet.solver.solver import MarketMaker, SolverConfig

__all__ = [
    "Inventory",
    "MarketMaker",
    "Reservation",
    "SolverConfig",
    "TokenSpec",
    "amount_in_for",
    "amount_out_for",
    "min_amount_in",
    "rate",
]
