"""How fast the data side supplies training images, two ways side by side.

1. **Device-resident cache**: a :class:`~errkit.datasets.CachedFaceDataset`
   (written once by :func:`errkit.datasets.prepare.prepare_dataset` from a
   small :class:`~errkit.datasets.SyntheticCKPlusDataset` with the dataset's
   exact landmarks) is loaded whole onto the device; each batch is an index
   draw, a gather and errkit's batch augmentations
   (:class:`~errkit.datasets.batch_augments.PairedAugmentation` and
   :class:`~errkit.datasets.batch_augments.PhotometricJitter`) on the device —
   what ``FERDataPreprocessor(batch_augments=...)`` runs after stacking.
2. **Per-sample PIL/torchvision pipeline**: each sample's face and neutral
   PNG files are decoded from disk with PIL (through
   :func:`~errkit.datasets.read_image`) and go through torchvision
   ``transforms.v2`` (resize, random affine, flip, to float tensor) in the
   workers of a :class:`torch.utils.data.DataLoader`.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler
from torchvision.transforms import v2

from errkit.datasets import CachedFaceDataset, SyntheticCKPlusDataset, read_image
from errkit.datasets.prepare import prepare_dataset
from errkit.registry import TRANSFORMS

from .memory import PeakMemory
from .training import synchronize

__all__ = ["build_face_cache", "DeviceFaceBank", "PlainFaceDataset", "run_data_benchmark",
           "DEFAULT_BATCH_AUGMENTS"]

#: The batch augmentations measured on the device (errkit TRANSFORMS configs).
DEFAULT_BATCH_AUGMENTS = (
    dict(type="PairedAugmentation", augmentations=[
        dict(type="RandomHorizontalFlip", p=0.5),
        dict(type="RandomAffine", degrees=10.0, translate=(0.05, 0.05), scale=(0.9, 1.1),
             p=1.0)]),
    dict(type="PhotometricJitter", brightness=0.1, contrast=0.1, gamma=0.1, noise_std=0.01,
         p=0.5),
)


def build_face_cache(root: os.PathLike, img_size: int, num_identities: int = 4,
                     frames_per_sequence: int = 4, seed: int = 0):
    """Write a small synthetic CK+-layout set and its aligned-face cache.

    The source frames are ``2 * img_size`` pixels wide, so the per-sample
    pipeline has a real resize to do, as with camera frames.

    Args:
        root (PathLike): Folder for the set (``synthetic/``) and the cache
            (``faces.npz``).
        img_size (int): Side of the cached crops.
        num_identities (int): Subjects. Defaults to 4.
        frames_per_sequence (int): Frames per sequence. Defaults to 4.
        seed (int): Generator seed. Defaults to 0.

    Returns:
        tuple: ``(cache_file, data_list)``: the cache path and the dataset's
        contract dicts (``img_path``, ``neutral_path``, ``gt_label`` ...).
    """
    root = Path(root)
    dataset = SyntheticCKPlusDataset(
        data_root=str(root / "synthetic"), num_identities=num_identities,
        frames_per_sequence=frames_per_sequence, image_size=2 * img_size, seed=seed,
        progress=False, num_peak_frames=frames_per_sequence - 1, pipeline=[])
    cache_file = root / "faces.npz"
    prepare_dataset(dataset, "PrecomputedLandmarks", cache_file, size=img_size,
                    color_type="grey", progress=False)
    data_list = [dataset.get_data_info(i) for i in range(len(dataset))]
    return cache_file, data_list


class DeviceFaceBank:
    """A whole :class:`~errkit.datasets.CachedFaceDataset` as tensors on a device.

    Args:
        dataset (CachedFaceDataset): Its pipeline must pack inputs
            (``PackFERInputs``, the default).
        device (torch.device | str): Where the tensors live.

    Attributes:
        tensors (dict[str, Tensor]): ``img``, ``neutral`` (uint8
            ``(N, C, S, S)``), ``landmarks``, ``neutral_landmarks``
            ``(N, 68, 2)``, ``neutral_mask``, ``landmark_mask`` ``(N,)`` and
            ``gt_label`` ``(N,)``.
    """

    def __init__(self, dataset, device) -> None:
        items = [dataset[i] for i in range(len(dataset))]
        if not items:
            raise ValueError(f"DeviceFaceBank: {dataset.cache_file} holds no sample")
        keys = ("img", "neutral", "landmarks", "neutral_landmarks")
        tensors = {k: torch.stack([it["inputs"][k] for it in items]) for k in keys}
        samples = [it["data_samples"] for it in items]
        tensors["neutral_mask"] = torch.tensor([bool(s.metainfo["has_neutral"])
                                                for s in samples])
        tensors["landmark_mask"] = torch.tensor([bool(s.metainfo["has_landmarks"])
                                                 for s in samples])
        tensors["gt_label"] = torch.cat([s.gt_label.reshape(-1) for s in samples]).long()
        self.tensors = {k: v.to(device) for k, v in tensors.items()}
        self.device = torch.device(device)

    def __len__(self) -> int:
        return int(self.tensors["img"].shape[0])

    def batch(self, batch_size: int, generator: Optional[torch.Generator] = None) -> dict:
        """A random batch in the augmentations' format (images float in ``[-1, 1]``).

        Returns:
            dict[str, Tensor]: The keys of :attr:`tensors`, ``B`` rows each.
        """
        index = torch.randint(len(self), (batch_size,), device=self.device, generator=generator)
        out = {k: v.index_select(0, index) for k, v in self.tensors.items()}
        for key in ("img", "neutral"):
            out[key] = out[key].float() / 127.5 - 1.0
        return out


class PlainFaceDataset(Dataset):
    """Per-sample loading: decode the face and its neutral with PIL, then
    torchvision ``transforms.v2`` with one random geometry for both.

    Args:
        data_list (list[dict]): Contract dicts (``img_path``, ``neutral_path``,
            ``gt_label``).
        img_size (int): Output side.
    """

    def __init__(self, data_list: List[dict], img_size: int) -> None:
        self.items = [d for d in data_list if d.get("neutral_path")]
        self.transform = v2.Compose([
            v2.ToImage(),
            v2.Resize((img_size, img_size), antialias=True),
            v2.RandomHorizontalFlip(p=0.5),
            v2.RandomAffine(degrees=10.0, translate=(0.05, 0.05), scale=(0.9, 1.1)),
            v2.ToDtype(torch.float32, scale=True),
        ])

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, idx: int):
        info = self.items[idx]
        face, ref = self.transform(read_image(info["img_path"]), read_image(info["neutral_path"]))
        return face * 2 - 1, ref * 2 - 1, int(info["gt_label"])


def _time_batches(next_batch, batches: int, warmup: int, batch_size: int,
                  device: torch.device) -> Dict[str, float]:
    for _ in range(max(0, warmup)):
        next_batch()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(max(1, batches)):
        next_batch()
    synchronize(device)
    seconds = time.perf_counter() - start
    n = max(1, batches)
    return dict(images_per_s=n * batch_size / seconds, ms_per_batch=1e3 * seconds / n,
                batches=n)


def run_data_benchmark(img_size: int, batch_size: int, device, batches: int = 5,
                       warmup: int = 1, num_workers: Optional[int] = None,
                       consumed_images_per_s: Optional[float] = None, memory: bool = False,
                       work_dir: Optional[os.PathLike] = None, seed: int = 0) -> dict:
    """Samples per second of both data paths, and how they compare with training.

    Args:
        img_size (int): Image side.
        batch_size (int): Images per batch.
        device (torch.device | str): Device of the cached path (the plain path
            ends on the host, as a DataLoader does).
        batches (int): Timed batches per path. Defaults to 5.
        warmup (int): Untimed batches first (DataLoader start-up). Defaults to 1.
        num_workers (int, optional): DataLoader workers. Defaults to
            ``min(4, os.cpu_count())``.
        consumed_images_per_s (float, optional): ERR-Net's training images per
            second measured in the same run; gives the supply ratios.
        memory (bool): Record each path's peak memory. Defaults to False.
        work_dir (PathLike, optional): Where to write the set and cache;
            a temporary folder (removed afterwards) when None.
        seed (int): Seed. Defaults to 0.

    Returns:
        dict: ``cached_device`` and ``plain_dataloader`` (``images_per_s``,
        ``ms_per_batch`` ...), ``cached_over_plain`` and, with
        ``consumed_images_per_s``, ``supply_over_errnet_step`` per path.
    """
    device = torch.device(device)
    workers = min(4, os.cpu_count() or 1) if num_workers is None else int(num_workers)
    with tempfile.TemporaryDirectory(prefix="errkit_bench_") as tmp:
        root = Path(work_dir) if work_dir is not None else Path(tmp)
        start = time.perf_counter()
        cache_file, data_list = build_face_cache(root, img_size, seed=seed)
        prepare_s = time.perf_counter() - start
        results: Dict[str, object] = dict(prepare_seconds=prepare_s, num_samples=len(data_list))

        tracker = PeakMemory(device)
        with tracker:
            bank = DeviceFaceBank(CachedFaceDataset(str(cache_file)), device)
            augments = torch.nn.ModuleList(TRANSFORMS.build(cfg) for cfg in
                                           DEFAULT_BATCH_AUGMENTS).to(device)
            gen = torch.Generator(device=device).manual_seed(seed)

            def cached_batch():
                batch = bank.batch(batch_size, gen)
                for aug in augments:
                    batch = aug(batch)
                return batch

            with torch.no_grad():
                entry = _time_batches(cached_batch, batches, warmup, batch_size, device)
        entry["resident_samples"] = len(bank)
        if memory:
            entry["memory"] = tracker.result()
        results["cached_device"] = entry

        tracker = PeakMemory("cpu")
        with tracker:
            plain = PlainFaceDataset(data_list, img_size)
            # Workers prefetch 2 batches each before the clock starts: time at
            # least 8x that many so the head start stays small.
            plain_batches = max(1, batches, 8 * workers)
            sampler = RandomSampler(plain, replacement=True,
                                    num_samples=batch_size * (plain_batches + warmup + 1),
                                    generator=torch.Generator().manual_seed(seed))
            loader = DataLoader(plain, batch_size=batch_size, sampler=sampler,
                                num_workers=workers, drop_last=True)
            iterator = iter(loader)
            entry = _time_batches(lambda: next(iterator), plain_batches, warmup, batch_size,
                                  torch.device("cpu"))
            del iterator
        entry["num_workers"] = workers
        if memory:
            entry["memory"] = tracker.result()
        results["plain_dataloader"] = entry

    results["cached_over_plain"] = (results["cached_device"]["images_per_s"]
                                    / results["plain_dataloader"]["images_per_s"])
    if consumed_images_per_s:
        results["errnet_step_images_per_s"] = consumed_images_per_s
        results["supply_over_errnet_step"] = {
            k: results[k]["images_per_s"] / consumed_images_per_s
            for k in ("cached_device", "plain_dataloader")}
    return results
