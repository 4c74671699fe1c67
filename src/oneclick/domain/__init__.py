"""The pure domain of the service: amounts, assets, quote maths, fees, the swap state machine.

No I/O and no framework imports (checked by an import-linter contract).
"""
