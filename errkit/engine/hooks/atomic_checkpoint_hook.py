"""mmengine's CheckpointHook with crash-safe writes."""

from __future__ import annotations

import contextlib
import os
import os.path as osp
from pathlib import Path
from typing import Optional, Union

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log

from errkit.engine.atomic_local_backend import (ATOMIC_BACKEND, atomic_write_bytes,
                                                stale_temp_files)
from errkit.registry import HOOKS

__all__ = ["AtomicCheckpointHook"]


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """Save checkpoints so that a killed run never leaves half a checkpoint.

    A drop-in replacement of :class:`mmengine.hooks.CheckpointHook` (same
    arguments, same file names, same rotation) that differs in three ways:

    1. Checkpoints (``epoch_N.pth`` / ``iter_N.pth`` and ``best_*.pth``) are
       written through :class:`~errkit.engine.atomic_local_backend.AtomicLocalBackend`:
       into a temporary file beside the final one, ``fsync``-ed, then renamed
       over it. mmengine writes the final path directly, so a kill mid-write
       leaves a truncated file that auto-resume then picks.
    2. ``last_checkpoint`` is replaced atomically too, and only once the
       checkpoint it names is complete.
    3. With ``max_keep_ckpts``, the outdated checkpoint is removed *after* the
       new one and ``last_checkpoint`` are in place (mmengine removes it first:
       with ``max_keep_ckpts=1`` a kill mid-write left no checkpoint at all).

    Temporary files of writes that were killed are removed in
    :meth:`before_train`. A killed run can leave one outdated checkpoint behind
    (killed between writing ``last_checkpoint`` and the removal); it is a
    complete file.

    Atomic writes apply when no ``backend_args`` / ``file_client_args`` are
    given and ``out_dir`` is a local folder; otherwise the configured backend is
    used as is (mmengine's behaviour).

    Args:
        *args: Positional arguments of :class:`~mmengine.hooks.CheckpointHook`.
        out_dir (str | Path, optional): As in ``CheckpointHook``. Defaults to
            None (the work dir).
        backend_args (dict, optional): As in ``CheckpointHook``; None selects
            the atomic local backend. Defaults to None.
        file_client_args (dict, optional): Deprecated mmengine argument; when
            given, writes are not atomic. Defaults to None.
        **kwargs: Keyword arguments of ``CheckpointHook`` (``interval``,
            ``by_epoch``, ``max_keep_ckpts``, ``save_best``, ...).

    Examples:
        In a config (``configs/_base_/default_runtime.py`` does this)::

            default_hooks = dict(
                checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=2))
    """

    def __init__(self, *args, out_dir: Optional[Union[str, Path]] = None,
                 backend_args: Optional[dict] = None, file_client_args: Optional[dict] = None,
                 **kwargs) -> None:
        remote = out_dir is not None and "://" in str(out_dir)
        self.atomic = backend_args is None and file_client_args is None and not remote
        if self.atomic:
            backend_args = dict(backend=ATOMIC_BACKEND)
        super().__init__(*args, out_dir=out_dir, backend_args=backend_args,
                         file_client_args=file_client_args, **kwargs)

    def before_train(self, runner) -> None:
        """Set up as ``CheckpointHook`` does, then remove temporaries of killed writes."""
        super().before_train(runner)
        if not (self.atomic and is_main_process()):
            return
        for folder in {str(self.out_dir), str(runner.work_dir)}:
            for path in stale_temp_files(folder):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
                print_log(f"removed {path}: an unfinished checkpoint write of an "
                          "interrupted run", logger="current")

    def _remove_checkpoint(self, step: int) -> None:
        path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(step))
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # checkpoints saved by deepspeed are folders
            self.file_backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
        """Save ``step``'s checkpoint, point ``last_checkpoint`` at it, then rotate."""
        outdated = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            # The list is stored in the checkpoint (message hub), so it is
            # updated before saving; files are only removed afterwards.
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info("keep_ckpt_ids", list(self.keep_ckpt_ids))

        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info("last_ckpt", self.last_ckpt)
        runner.save_checkpoint(self.out_dir, filename, self.file_client_args,
                               save_optimizer=self.save_optimizer,
                               save_param_scheduler=self.save_param_scheduler, meta=meta,
                               by_epoch=self.by_epoch, backend_args=self.backend_args,
                               **self.args)
        if not is_main_process():
            return
        save_file = osp.join(runner.work_dir, "last_checkpoint")
        if self.atomic:
            atomic_write_bytes(save_file, str(self.last_ckpt).encode("utf-8"))
        else:
            with open(save_file, "w") as f:
                f.write(str(self.last_ckpt))
        if outdated is not None and outdated != step:
            self._remove_checkpoint(outdated)
