"""Simulated ledgers with real address formats: Bitcoin and an XRP-style memo chain."""

from devnet.chains.sim.bitcoin import BitcoinChain, validate_btc_address
from devnet.chains.sim.ledger import SimChain
from devnet.chains.sim.xrp import XrpChain, validate_destination_tag, validate_xrp_address

__all__ = [
    "BitcoinChain",
    "SimChain",
    "XrpChain",
    "validate_btc_address",
    "validate_destination_tag",
    "validate_xrp_address",
]
