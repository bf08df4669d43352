# Ablation on the Taiwanese real faces: ERR-Net without expression removal. The encoder
# and the landmark residual (the face's own 68 points against their predicted neutral
# shape) feed the head; no decoder, no pixel residual, no discriminator. Set beside
# configs/errnet_tw_faces.py, it shows what the generator adds to recognition.
_base_ = ['../errnet_tw_faces.py']
model = dict(
    decoder=None,
    discriminator=None,
    residuals=[dict(type='DetectedLandmarkResidual', out_channels=64)],
    test_cfg=dict(neutral='generated', extra_modes=()),
)
