# A plain timm classifier on the expressive face: the baseline row of the ablation table.
model = dict(
    type='TimmClassifier',
    model_name='resnet18',
    num_classes=7,
    in_channels=1,
    pretrained=None,  # path of a local timm checkpoint; weights are never downloaded
    data_preprocessor=dict(type='FERDataPreprocessor', num_channels=1),
)
