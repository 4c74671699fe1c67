"""Runtime loops: claim due swaps, step them, hand them back (``oneclick worker``)."""
