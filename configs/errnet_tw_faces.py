# ERR-Net on the Taiwanese real faces (../shared/data/tw_faces beside the checkout;
# research use only). Prepare the dlib landmarks and aligned crops once, then run the
# subject-independent folds:
#   python tools/prepare_data.py configs/errnet_tw_faces.py
#   python tools/kfold.py configs/errnet_tw_faces.py --folds 10
# Same encoder, image size, augmentations, schedule and epochs as
# configs/baselines/timm_classifier_tw_faces.py. docs/model.rst has the comparison.
_base_ = [
    './_base_/models/errnet_real_faces.py',
    './_base_/datasets/tw_faces.py',
    './_base_/schedules/errnet_adamw_cosine_15e.py',
    './_base_/default_runtime.py',
]
model = dict(
    num_classes=_base_.num_classes,
    data_preprocessor=dict(batch_augments=_base_.real_face_augments),
    # Also report recognition with each face's neutral photo (given-neutral mode).
    test_cfg=dict(neutral='generated', extra_modes=('given',)),
)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=15, max_keep_ckpts=1))
