"""Residual-image decoders (generators)."""
