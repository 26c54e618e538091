"""The exchanges btclib records: one module each, found through a small registry."""

from . import binance, upbit

__all__ = ["binance", "upbit"]
