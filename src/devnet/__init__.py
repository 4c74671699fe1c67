"""devnet: a local NEAR Intents world on loopback (verifier, relay, bridge, chains, solver).

It speaks the public protocols of its real counterparts so that ``oneclick`` runs on it unchanged.
The services arrive with the devnet issues.
"""
