"""NEAR itself on the devnet: signed transactions as NEAR RPC receives them. The accounts, keys
and NEP-141 contracts they act on live in the verifier's NEAR-side ledger
(:mod:`devnet.verifier.near_tokens`)."""
