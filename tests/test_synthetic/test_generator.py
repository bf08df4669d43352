import dataclasses
import json

import numpy as np
import pytest

from errkit.synthetic import (EXPRESSIONS, META_FILE, FaceRenderer, SyntheticFaceConfig,
                              expression_displacement, generate_synthetic_ckplus, ramp,
                              sample_identity)
from errkit.synthetic import generator as generator_module
from errkit.synthetic.generator import render_identity

TINY = dict(num_identities=2, frames_per_sequence=3, image_size=64)


def _files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob('*')) if p.is_file()}


def test_ramp_goes_from_neutral_to_peak():
    levels = ramp(8)
    assert levels[0] == 0 and levels[-1] == 1 and levels[-2] == 1
    assert np.all(np.diff(levels) >= 0)


def test_same_seed_same_faces_other_seed_other_faces():
    first = list(render_identity(SyntheticFaceConfig(**TINY), 0))
    again = list(render_identity(SyntheticFaceConfig(**TINY), 0))
    other = list(render_identity(SyntheticFaceConfig(seed=1, **TINY), 0))
    for a, b in zip(first, again):
        assert a[:2] == b[:2]
        for fa, fb in zip(a[2], b[2]):
            np.testing.assert_array_equal(fa, fb)
        np.testing.assert_array_equal(np.stack(a[3]), np.stack(b[3]))
    assert not np.array_equal(first[0][2][0], other[0][2][0])
    assert sorted(e for _, e, _, _ in first) == sorted(EXPRESSIONS)


def test_generates_the_ckplus_layout_once(tmp_path, monkeypatch):
    root = tmp_path / 'synthetic'
    config = SyntheticFaceConfig(**TINY)
    assert generate_synthetic_ckplus(root, config, progress=False) == root
    meta = json.loads((root / META_FILE).read_text())
    assert meta['hash'] == config.digest() and meta['config']['num_identities'] == 2
    frames = sorted((root / 'cohn-kanade-images').glob('S*/*/*.png'))
    assert len(frames) == 2 * 7 * 3
    assert frames[0].name == 'S001_001_00000001.png'
    assert len(list((root / 'Emotion').glob('S*/*/*_emotion.txt'))) == 2 * 7
    assert len(list((root / 'Landmarks').glob('S*/*/*_landmarks.txt'))) == 2 * 7 * 3
    before = _files(root)

    def fail(*args, **kwargs):
        raise AssertionError('a cached set was drawn again')

    monkeypatch.setattr(generator_module, 'render_identity', fail)
    generate_synthetic_ckplus(root, config, progress=False)
    assert _files(root) == before
    monkeypatch.undo()

    changed = SyntheticFaceConfig(seed=3, **TINY)
    generate_synthetic_ckplus(root, changed, progress=False)
    assert json.loads((root / META_FILE).read_text())['hash'] == changed.digest()
    assert _files(root) != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['synthetic']


def test_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    root = tmp_path / 'synthetic'
    real = generator_module.render_identity

    def broken(config, index):
        if index == 1:
            raise KeyboardInterrupt
        yield from real(config, index)

    monkeypatch.setattr(generator_module, 'render_identity', broken)
    with pytest.raises(KeyboardInterrupt):
        generate_synthetic_ckplus(root, SyntheticFaceConfig(**TINY), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_regeneration_keeps_the_old_set(tmp_path, monkeypatch):
    root = tmp_path / 'synthetic'
    generate_synthetic_ckplus(root, SyntheticFaceConfig(**TINY), progress=False)
    before = _files(root)
    from errkit.synthetic import ckplus_writer
    calls = []

    def write_then_fail(*args, **kwargs):
        calls.append(args)
        if len(calls) > 3:
            raise OSError('disk full')
        return ckplus_writer.write_ckplus_sequence(*args, **kwargs)

    monkeypatch.setattr(generator_module, 'write_ckplus_sequence', write_then_fail)
    with pytest.raises(OSError, match='disk full'):
        generate_synthetic_ckplus(root, SyntheticFaceConfig(seed=5, **TINY), progress=False)
    assert _files(root) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['synthetic']


def test_refuses_to_overwrite_other_data(tmp_path):
    (tmp_path / 'ckplus').mkdir()
    (tmp_path / 'ckplus' / 'keep.txt').write_text('real data')
    with pytest.raises(FileExistsError, match=META_FILE):
        generate_synthetic_ckplus(tmp_path / 'ckplus', SyntheticFaceConfig(**TINY),
                                  progress=False)
    assert (tmp_path / 'ckplus' / 'keep.txt').read_text() == 'real data'


def test_config_checks_its_fields():
    with pytest.raises(ValueError, match='frames_per_sequence'):
        SyntheticFaceConfig(frames_per_sequence=1)
    with pytest.raises(ValueError, match='expressions'):
        SyntheticFaceConfig(expressions=('joy',))


def _plain_identity(seed=0):
    """An identity with flat light and high-contrast lips, to find features by threshold."""
    ident = sample_identity(np.random.default_rng(seed))
    return dataclasses.replace(
        ident, skin=np.full(3, 230, np.float32), lips=np.zeros(3, np.float32), texture=0.0,
        ambient=1.0, wrinkles=0.0, beard=0.0, glasses=False)


@pytest.mark.parametrize('expression', [None, 'happy', 'surprise', 'contempt'])
def test_drawn_mouth_corners_sit_on_the_landmarks(expression):
    ident = _plain_identity()
    renderer = FaceRenderer(ident, size=128)
    shape = ident.shape
    if expression is not None:
        shape = shape + expression_displacement(expression)
    lm = ident.project(shape, 128)
    img = renderer.render(lm).astype(np.float32)
    for index, step in ((48, 1), (54, -1)):
        x, y = lm[index]
        row = img[int(round(y))]
        cols = np.arange(int(x) - 6, int(x) + 7)
        dark = cols[row[cols] < 115]
        corner = dark.min() if step == 1 else dark.max()
        assert abs(corner - x) <= 1.0, (expression, index, corner, x)


@pytest.mark.parametrize('expression', EXPRESSIONS)
def test_expression_changes_only_pixels_near_moved_landmarks(expression):
    ident = sample_identity(np.random.default_rng(4))
    renderer = FaceRenderer(ident, size=64)
    neutral = renderer.neutral_landmarks
    peak = ident.project(ident.shape + expression_displacement(expression, 1.0, ident.style), 64)
    diff = np.abs(renderer.render(peak).astype(int) - renderer.render(neutral).astype(int))
    changed = np.argwhere(diff > 4)[:, ::-1]  # (x, y)
    assert len(changed) > 10
    moved = np.linalg.norm(peak - neutral, axis=1) > 0.2
    near = np.concatenate([peak[moved], neutral[moved]])
    distance = np.linalg.norm(changed[:, None] - near[None], axis=2).min(1)
    iod = ident.iod * 64
    assert distance.max() <= 0.75 * iod  # cheeks and folds lie close to the moved points
    assert diff[:, :4].max() == 0 and diff[:4].max() == 0  # background untouched


def test_first_frame_is_the_neutral_face():
    config = SyntheticFaceConfig(noise=0.0, **TINY)
    ident = sample_identity(np.random.default_rng(np.random.SeedSequence([0, 0, 0])))
    renderer = FaceRenderer(ident, size=64)
    expected = renderer.render(renderer.neutral_landmarks)
    for _, _, frames, landmarks in render_identity(config, 0):
        np.testing.assert_array_equal(frames[0], expected)
        np.testing.assert_allclose(landmarks[0], renderer.neutral_landmarks)
        assert not np.array_equal(frames[-1], expected)


def test_colour_and_grey_images():
    config = SyntheticFaceConfig(color=True, **TINY)
    _, _, frames, _ = next(render_identity(config, 0))
    assert frames[0].shape == (64, 64, 3) and frames[0].dtype == np.uint8
    _, _, frames, _ = next(render_identity(SyntheticFaceConfig(**TINY), 0))
    assert frames[0].shape == (64, 64)


def test_dataset_reads_the_set_as_ckplus(tmp_path):
    from errkit.datasets.synthetic_ckplus_dataset import SyntheticCKPlusDataset
    ds = SyntheticCKPlusDataset(data_root=str(tmp_path / 'set'), num_identities=2,
                                frames_per_sequence=4, image_size=64, progress=False)
    assert len(ds) == 2 * 7 * 3
    labels = {ds.get_data_info(i)['gt_label'] for i in range(len(ds))}
    assert labels == set(range(7))
    info = ds.get_data_info(0)
    assert info['neutral_path'].endswith('_00000001.png')
    assert info['landmarks'].shape == (68, 2) and info['neutral_landmarks'].shape == (68, 2)
    assert ds.metainfo['classes'] == EXPRESSIONS


def test_says_what_it_writes_where_before_writing(tmp_path, monkeypatch):
    from mmengine.logging import MMLogger

    log_file = tmp_path / 'generation.log'
    logger = MMLogger.get_instance(f'generation-{tmp_path.name}', log_file=str(log_file))
    monkeypatch.chdir(tmp_path)
    config = SyntheticFaceConfig(**TINY)
    generate_synthetic_ckplus('data/tiny', config, progress=False)  # relative: said absolute
    generate_synthetic_ckplus('data/tiny', config, progress=False)  # cached: nothing said
    generate_synthetic_ckplus('data/tiny', SyntheticFaceConfig(seed=5, **TINY), progress=False)
    for handler in logger.handlers:
        handler.flush()
    lines = [ln for ln in log_file.read_text().splitlines() if 'synthetic face set' in ln]
    where = str(tmp_path / 'data' / 'tiny')
    assert len(lines) == 2 and all(where in ln for ln in lines)
    assert '2 identities, 42 images' in lines[0] and 'no synthetic set there yet' in lines[0]
    assert 'replacing the synthetic set there' in lines[1] and '--data-root' in lines[1]
