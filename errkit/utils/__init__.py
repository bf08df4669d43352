"""Utilities shared by errkit modules and tools."""
