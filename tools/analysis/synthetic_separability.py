"""How much of the synthetic faces' pixels is identity: raw image vs true residual.

Trains the same small classifier, over subject-independent folds, once on the
expressive peak images and once on their true residuals (expressive minus the
sequence's exact neutral frame), and prints both mean test accuracies. On a
set where identity dominates the pixels the raw accuracy is clearly lower.
Both images of a pair are aligned by the neutral frame's landmarks to
:func:`errkit.landmarks.mean_shape.canonical_landmarks`.

Example:
    python tools/analysis/synthetic_separability.py --data-root data/synthetic_ckplus
"""
import argparse

import cv2
import numpy as np
import torch
from torch import nn

from errkit.datasets.ckplus_dataset import CKPlusDataset
from errkit.datasets.io import read_image
from errkit.landmarks.mean_shape import canonical_landmarks
from errkit.synthetic import SyntheticFaceConfig, generate_synthetic_ckplus


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', default='data/synthetic_ckplus')
    parser.add_argument('--num-identities', type=int, default=60)
    parser.add_argument('--image-size', type=int, default=128, help='size of the set')
    parser.add_argument('--size', type=int, default=48, help='classifier input size')
    parser.add_argument('--folds', type=int, default=5)
    parser.add_argument('--model', choices=('linear', 'cnn'), default='linear')
    parser.add_argument('--epochs', type=int, default=300)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def load_pairs(root: str, size: int):
    ds = CKPlusDataset(data_root=root, num_peak_frames=3)
    template = canonical_landmarks(size)
    raw, residual, labels, subjects = [], [], [], []
    for info in (ds.get_data_info(i) for i in range(len(ds))):
        matrix, _ = cv2.estimateAffinePartial2D(info['neutral_landmarks'], template)
        pair = [cv2.warpAffine(read_image(p, 'grey')[:, :, 0].astype(np.float32) / 255,
                               matrix, (size, size), flags=cv2.INTER_AREA)
                for p in (info['img_path'], info['neutral_path'])]
        raw.append(pair[0])
        residual.append(pair[0] - pair[1])
        labels.append(info['gt_label'])
        subjects.append(info['subject'])
    return (np.stack(raw), np.stack(residual), np.array(labels), np.array(subjects),
            len(ds.metainfo['classes']))


def make_model(kind: str, size: int, num_classes: int) -> nn.Module:
    if kind == 'linear':
        return nn.Sequential(nn.Flatten(), nn.Linear(size * size, num_classes))
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4),
        nn.Flatten(), nn.Linear(64 * 16, num_classes))


def fit_and_score(x_train, y_train, x_test, y_test, args, num_classes) -> float:
    mean, std = x_train.mean(0, keepdims=True), x_train.std(0, keepdims=True) + 1e-3
    x_train = torch.from_numpy((x_train - mean) / std)[:, None]
    x_test = torch.from_numpy((x_test - mean) / std)[:, None]
    y_train = torch.from_numpy(y_train)
    model = make_model(args.model, args.size, num_classes)
    optim = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    batch = len(x_train) if args.model == 'linear' else 64
    for _ in range(args.epochs):
        order = torch.randperm(len(x_train))
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            loss = nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
            optim.zero_grad()
            loss.backward()
            optim.step()
    with torch.no_grad():
        pred = model(x_test).argmax(1).numpy()
    return float((pred == y_test).mean())


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    generate_synthetic_ckplus(args.data_root, SyntheticFaceConfig(
        num_identities=args.num_identities, image_size=args.image_size))
    raw, residual, labels, subjects, num_classes = load_pairs(args.data_root, args.size)
    names = np.unique(subjects)
    np.random.default_rng(args.seed).shuffle(names)
    scores = {'raw image': [], 'true residual': []}
    for fold, test_names in enumerate(np.array_split(names, args.folds)):
        test = np.isin(subjects, test_names)
        for name, x in (('raw image', raw), ('true residual', residual)):
            scores[name].append(fit_and_score(x[~test], labels[~test], x[test], labels[test],
                                              args, num_classes))
        print(f'fold {fold}: ' + ', '.join(f'{k} {v[-1]:.3f}' for k, v in scores.items()))
    print(f'{args.model} classifier, {len(labels)} peak frames of {len(names)} subjects, '
          f'{args.folds} subject-independent folds:')
    for name, values in scores.items():
        print(f'  {name:13s} accuracy {np.mean(values):.3f} +- {np.std(values):.3f}')


if __name__ == '__main__':
    main()
