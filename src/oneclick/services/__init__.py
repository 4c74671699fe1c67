"""Use cases of the service: quoting, status, deposits, intents, partners. Each takes the ports
it needs as arguments (see :mod:`oneclick.services.ports`)."""
