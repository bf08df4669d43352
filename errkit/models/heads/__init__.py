"""Classifier heads."""
