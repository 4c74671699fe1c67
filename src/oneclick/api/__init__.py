"""The HTTP API (FastAPI): wire schemas in camelCase, thin routes, error mapping."""
