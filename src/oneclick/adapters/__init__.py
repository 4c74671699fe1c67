"""Adapters for ports that no ``nearintents`` client covers (the price source)."""
