"""oneclick: a self-hostable 1Click API service on NEAR Intents.

The product: HTTP API, quoting, custody accounts, the swap engine, persistence. It talks to the
world only through the public protocols (solver relay, PoA bridge, NEAR RPC); it never imports
``devnet``. The service itself arrives with the API and swap-engine issues.
"""
