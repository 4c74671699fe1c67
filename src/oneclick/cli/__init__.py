"""The ``oneclick`` command line (typer)."""
