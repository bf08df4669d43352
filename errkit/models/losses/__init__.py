"""GAN losses and the other training losses."""
