"""Residual branches: what the residual between a face and its neutral tells."""
