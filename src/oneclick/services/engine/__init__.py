"""The swap engine (ARCHITECTURE.md §4): one idempotent step at a time per swap, every effect
written before it is sent and read back after. :func:`advance_swap` is the entry point."""

from oneclick.services.engine.context import EngineContext
from oneclick.services.engine.core import StepResult, advance_swap

__all__ = ["EngineContext", "StepResult", "advance_swap"]
