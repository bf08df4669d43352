# ERR-Net on the Taiwanese real faces in given-neutral mode: where a neutral photo of the
# same person exists (an enrolment photo, a video's first frame), recognition learns and
# predicts from the residual to that photo instead of the generated neutral (the
# generator still learns removal). Test-time predictions use each held-out face's
# neutral photo; the same model's single-image predictions are reported too
# (expr/generated_neutral/accuracy).
#
# The recognizer reads the landmark residual to the photo, not the pixel residual: the
# two photos differ in lighting, hair and pose as well as in expression, and with the
# pixel residual to the photo accuracy dropped (docs/model.rst).
_base_ = ['./errnet_tw_faces.py']
model = dict(
    residuals=[dict(type='DetectedLandmarkResidual', out_channels=64)],
    train_cfg=dict(neutral='given'),
    test_cfg=dict(neutral='given', extra_modes=('generated',)),
)
