"""NEAR Intents as a typed Python library.

Intent payloads, the signing standards of the Verifier contract (sign, verify, intent hash),
versioned nonces, token ids, the ``token_diff`` closure with protocol fees, the 1Click quote
signature, and JSON-RPC clients for the solver relay, the PoA bridge and NEAR RPC views.
Everything except :mod:`nearintents.rpc` is pure: no I/O.
"""
