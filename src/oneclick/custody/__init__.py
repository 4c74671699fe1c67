"""Keys: the master secret that derives custody accounts, the manager key that signs quotes,
and the per-install JWT secret. Secrets never leave this package except as signatures."""
