"""GAN losses and the other training losses."""

from .cross_entropy_loss import CrossEntropyLoss
from .gan_loss import GANLoss
from .gradient_penalty_loss import GradientPenaltyLoss
from .loss_builder import build_loss
from .masked_l1_loss import MaskedL1Loss
from .perceptual_loss import PerceptualLoss
from .segment_loss import SegmentLoss

__all__ = ["CrossEntropyLoss", "GANLoss", "GradientPenaltyLoss", "MaskedL1Loss",
           "PerceptualLoss", "SegmentLoss", "build_loss"]
