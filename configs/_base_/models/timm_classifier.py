# A plain timm classifier on the expressive face: the baseline row of the ablation table.
# The number of classes is the dataset's: a leaf config sets
# model = dict(num_classes=_base_.num_classes).
model = dict(
    type='TimmClassifier',
    model_name='resnet18',
    in_channels=1,
    pretrained=None,  # path of a local timm checkpoint; weights are never downloaded
    loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
    data_preprocessor=dict(type='FERDataPreprocessor', num_channels=1),
)
