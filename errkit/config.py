"""Config loading: find a config file, load it, apply overrides, set errkit's scope.

The one place that turns a config name into an :class:`mmengine.config.Config`.
The training, test and k-fold entry points, the inference API and the
benchmarks all load configs through :func:`load_config`, so a config name
resolves the same way everywhere: as a path, else relative to errkit's own
``configs/`` folder and to every folder that a plugin contributes through the
``errkit_config_paths`` hook (see :func:`errkit.plugin_manager.get_config_paths`).

Two settings that every command applies the same way to a loaded config:

- :func:`set_data_root` (``--data-root``) points every dataset of the train,
  val and test dataloaders at one folder. A ``data_root = ...`` line in a
  child config does not do that: mmengine merges the dicts it inherits, it
  does not re-evaluate the base's variables inside them.
- :func:`make_smoke_config` (``--smoke``) turns a config into a smoke run: one
  short epoch on a small subset of every split, through the same code as a
  real run.
"""

from __future__ import annotations

import math
import os.path as osp
from typing import Iterator, List, Optional, Tuple

from mmengine.config import Config

from errkit.plugin_manager import get_config_paths

__all__ = ["DEFAULT_SCOPE", "DATALOADER_KEYS", "SMOKE_TRAIN_SAMPLES", "SMOKE_EVAL_SAMPLES",
           "SMOKE_BATCH_SIZE", "ConfigNotFoundError", "resolve_config", "load_config",
           "work_dir_for", "dataset_configs", "set_data_root", "unread_data_root",
           "make_smoke_config"]

#: The mmengine scope that every errkit config builds in.
DEFAULT_SCOPE = "errkit"
#: The dataloaders whose datasets :func:`set_data_root` and :func:`make_smoke_config` set.
DATALOADER_KEYS = ("train_dataloader", "val_dataloader", "test_dataloader")
#: Training samples of a smoke run (per training dataset).
SMOKE_TRAIN_SAMPLES = 32
#: Validation and test samples of a smoke run (per dataset).
SMOKE_EVAL_SAMPLES = 16
#: The largest batch of a smoke run: a few iterations, whatever the config's batch.
SMOKE_BATCH_SIZE = 8


class ConfigNotFoundError(FileNotFoundError):
    """A config path that is neither a file nor found in any plugin's config folder."""


def resolve_config(path: str) -> str:
    """Find a config file by path, or relative to errkit's and plugins' config folders.

    Args:
        path (str): ``configs/errnet_ckplus.py``, ``errnet_ckplus.py`` or a path
            relative to a folder contributed by ``errkit_config_paths``.

    Returns:
        str: An existing file path.

    Raises:
        ConfigNotFoundError: Nothing matches; the message lists where it looked.

    Examples:
        >>> resolve_config('errnet_synthetic.py').endswith('configs/errnet_synthetic.py')
        True
    """
    if osp.isfile(path):
        return path
    searched = []
    for folder in get_config_paths():
        for candidate in (path, path[len("configs/"):] if path.startswith("configs/") else None):
            if candidate:
                full = osp.join(folder, candidate)
                searched.append(full)
                if osp.isfile(full):
                    return full
    raise ConfigNotFoundError(
        f"config file not found: {path}\nLooked in the current folder and in: "
        + (", ".join(sorted({osp.dirname(s) for s in searched})) or "(no config folders)"))


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Resolve and load a config, apply ``cfg_options``, default the scope to errkit's.

    Args:
        path (str): A config path or name (see :func:`resolve_config`).
        cfg_options (dict, optional): Overrides, as ``--cfg-options`` gives
            them (``{'train_cfg.max_epochs': 2}``). Defaults to None.

    Returns:
        Config: The merged config; ``default_scope`` is ``'errkit'`` unless the
        config sets another.

    Raises:
        ConfigNotFoundError: The config cannot be found.
    """
    cfg = Config.fromfile(resolve_config(path))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.setdefault("default_scope", DEFAULT_SCOPE)
    return cfg


def work_dir_for(cfg: Config, work_dir: Optional[str], config_path: str) -> str:
    """The work dir of a run: ``work_dir``, else the config's, else ``work_dirs/<name>``.

    Args:
        cfg (Config): The loaded config.
        work_dir (str, optional): An explicit work dir (``--work-dir``).
        config_path (str): The config's path; its stem names the default folder.

    Returns:
        str: The work dir.

    Examples:
        >>> work_dir_for(Config({}), None, 'configs/errnet_ckplus.py')
        'work_dirs/errnet_ckplus'
    """
    if work_dir:
        return work_dir
    if cfg.get("work_dir"):
        return cfg.work_dir
    return osp.join("work_dirs", osp.splitext(osp.basename(config_path))[0])


def dataset_configs(cfg: Config) -> Iterator[Tuple[str, dict]]:
    """The dataset configs of the train, val and test dataloaders, wrappers entered.

    A wrapper (a dict with a ``dataset`` or a ``datasets`` list, e.g.
    ``RepeatDataset``, ``ConcatDataset``) is not yielded; the datasets it
    wraps are. A dataloader that is shared (``test_dataloader =
    val_dataloader``) yields its datasets once.

    Args:
        cfg (Config): A loaded config.

    Yields:
        tuple[str, dict]: The dataset's place (``'train_dataloader.dataset'``,
        ``'val_dataloader.dataset.datasets[1]'``) and its config, to change in
        place.
    """
    seen = set()

    def walk(node, where):
        if not isinstance(node, dict) or id(node) in seen:
            return
        seen.add(id(node))
        if "dataset" not in node and "datasets" not in node:
            yield where, node
            return
        if "dataset" in node:
            yield from walk(node["dataset"], f"{where}.dataset")
        for i, inner in enumerate(node.get("datasets") or []):
            yield from walk(inner, f"{where}.datasets[{i}]")

    for key in DATALOADER_KEYS:
        loader = cfg.get(key)
        if isinstance(loader, dict):
            yield from walk(loader.get("dataset"), f"{key}.dataset")


def set_data_root(cfg: Config, data_root: str) -> List[str]:
    """Point every dataset of the train, val and test dataloaders at ``data_root``.

    Every dataset config (see :func:`dataset_configs`) gets ``data_root``, made
    absolute against the current folder; so does a top-level ``data_root``
    variable. For a :class:`~errkit.datasets.CachedFaceDataset` that is the
    folder of its relative ``cache_file``.

    Args:
        cfg (Config): A loaded config, changed in place.
        data_root (str): The folder (``~`` expanded).

    Returns:
        list[str]: The places set, e.g. ``['train_dataloader.dataset', ...]``.

    Raises:
        ValueError: The config has no dataset to set.

    Examples:
        >>> cfg = Config(dict(train_dataloader=dict(dataset=dict(
        ...     type='RepeatDataset', times=2, dataset=dict(type='CKPlusDataset')))))
        >>> set_data_root(cfg, '/data/ckplus')
        ['train_dataloader.dataset.dataset']
        >>> cfg.train_dataloader.dataset.dataset.data_root
        '/data/ckplus'
    """
    root = osp.abspath(osp.expanduser(str(data_root)))
    places = []
    for where, dataset in dataset_configs(cfg):
        dataset["data_root"] = root
        places.append(where)
    if not places:
        raise ValueError("--data-root: the config has no dataset in train_dataloader, "
                         "val_dataloader or test_dataloader to point at it")
    if isinstance(cfg.get("data_root"), str):
        cfg.data_root = root
    return places


def unread_data_root(cfg: Config) -> Optional[str]:
    """Warn about a top-level ``data_root`` that no dataset reads, the trap of child configs.

    A child config that sets ``data_root = 'X'`` changes the variable only: the
    dataloaders it inherits keep the folder their base put in them.

    Args:
        cfg (Config): A loaded config.

    Returns:
        str | None: One line saying so and what to do, or None when the
        top-level ``data_root`` is absent or some dataset reads it.

    Examples:
        >>> cfg = Config(dict(data_root='/data/mine', train_dataloader=dict(
        ...     dataset=dict(type='CKPlusDataset', data_root='data/ckplus'))))
        >>> unread_data_root(cfg)[:62]
        "the config sets data_root = '/data/mine', but no dataset reads"
    """
    root = cfg.get("data_root")
    if not isinstance(root, str):
        return None
    roots = sorted({str(d.get("data_root")) for _, d in dataset_configs(cfg)
                    if d.get("data_root") is not None})
    if not roots or root in roots:
        return None
    return (f"the config sets data_root = {root!r}, but no dataset reads it (they read "
            f"{', '.join(repr(r) for r in roots)}): a top-level variable does not reach the "
            f"dataloaders a config inherits; pass --data-root {root} or set "
            "train_dataloader.dataset.data_root (and val_ and test_) in the config")


def _accepts_indices(kind) -> bool:
    """Whether a dataset type takes mmengine's ``indices`` (a ``BaseDataset``)."""
    from mmengine.dataset import BaseDataset  # imports torch: kept out of --help

    from errkit.registry import DATASETS

    cls = DATASETS.lookup(kind) if isinstance(kind, str) else kind
    return isinstance(cls, type) and issubclass(cls, BaseDataset)


def make_smoke_config(cfg: Config, train_samples: int = SMOKE_TRAIN_SAMPLES,
                      eval_samples: int = SMOKE_EVAL_SAMPLES,
                      batch_size: int = SMOKE_BATCH_SIZE) -> str:
    """Turn a config into a smoke run: one short epoch on a small subset of each split.

    A smoke run checks that a config (a new plugin's, say) trains, validates,
    checkpoints and tests end to end in a minute, through the same code as a
    real run:

    - every dataset of ``train_dataloader`` keeps its first ``train_samples``
      samples, every one of ``val_dataloader`` and ``test_dataloader`` its
      first ``eval_samples`` (mmengine's ``indices`` argument, applied after
      the fold is selected; the datasets' load report then says
      ``subset of N of M samples``);
    - batches hold at most ``batch_size`` faces, with no worker processes;
    - training lasts one epoch (an iteration-based loop: as many iterations as
      the subset holds batches), validated at its end; every iteration is
      logged and a checkpoint is saved.

    Args:
        cfg (Config): A loaded config, changed in place.
        train_samples (int): Samples per training dataset. Defaults to
            :data:`SMOKE_TRAIN_SAMPLES`.
        eval_samples (int): Samples per validation / test dataset. Defaults to
            :data:`SMOKE_EVAL_SAMPLES`.
        batch_size (int): Largest batch. Defaults to :data:`SMOKE_BATCH_SIZE`.

    Returns:
        str: One line saying what the smoke run does, for the log.

    Raises:
        ValueError: A dataset that cannot take a subset (not built on mmengine's
            ``BaseDataset``), named by its place in the config.
    """
    loaders = {}
    for where, dataset in dataset_configs(cfg):
        if not _accepts_indices(dataset.get("type")):
            raise ValueError(f"--smoke: {where} ({dataset.get('type')}) is not built on "
                             "mmengine's BaseDataset, so it cannot take a subset of samples")
        key = where.split(".", 1)[0]
        dataset["indices"] = int(train_samples if key == "train_dataloader" else eval_samples)
        loaders[key] = cfg[key]
    for loader in loaders.values():
        loader["batch_size"] = max(1, min(int(loader.get("batch_size", batch_size)),
                                          int(batch_size)))
        loader["num_workers"] = 0
        loader["persistent_workers"] = False
    train_cfg = cfg.get("train_cfg")
    if isinstance(train_cfg, dict):
        if train_cfg.get("by_epoch", True) and "max_iters" not in train_cfg:
            train_cfg.update(max_epochs=1, val_interval=1)
        else:
            batch = loaders.get("train_dataloader", {}).get("batch_size", batch_size)
            iters = max(1, math.ceil(int(train_samples) / batch))
            train_cfg.update(max_iters=iters, val_interval=iters)
    hooks = cfg.get("default_hooks")
    if isinstance(hooks, dict):
        if isinstance(hooks.get("logger"), dict):
            hooks["logger"]["interval"] = 1
        if isinstance(hooks.get("checkpoint"), dict):
            hooks["checkpoint"]["interval"] = 1
    if isinstance(cfg.get("log_processor"), dict):
        cfg.log_processor["window_size"] = 1
    return (f"smoke run: one epoch on the first {train_samples} training and {eval_samples} "
            f"validation/test samples of each dataset, batches of at most {batch_size}")
