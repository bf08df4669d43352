"""Discriminators for the removal GAN."""
