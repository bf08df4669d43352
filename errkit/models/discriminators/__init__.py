"""Discriminators for the removal GAN."""

from .patch_discriminator import PatchDiscriminator

__all__ = ["PatchDiscriminator"]
