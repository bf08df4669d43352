# Training augmentations for real photos (the model's data_preprocessor applies them to
# the face, its neutral and both landmark sets alike): mirror (the 68 points re-indexed),
# small rotation, scale and shift, brightness and contrast. Real-face dataset bases
# inherit this file; leaf configs hand `_base_.real_face_augments` to their model.
real_face_augments = [
    dict(type='PairedAugmentation', augmentations=[
        dict(type='RandomHorizontalFlip', p=0.5),
        dict(type='RandomAffine', degrees=8, translate=(0.04, 0.04), scale=(0.92, 1.08),
             p=1.0)]),
    dict(type='PhotometricJitter'),
]
