"""``tools/infer.py`` and ``errkit infer``: recognise and remove expressions in image files.

For every image, writes ``OUT/<name>.png``: per face, the input with its
landmarks and box, the aligned face, the generated neutral face, the residual
(signed colours on a fixed scale in intensity units) and the class
probabilities; and ``OUT/results.json`` with every image's faces
(probabilities, label, box, landmarks), the model's training data and notes.
A model trained on synthetic faces only warns once when it meets real photos;
a model without a neutral class notes that a neutral face is forced into an
expression. Exits with 1 when an image could not be processed, after
processing all the others.
"""

from __future__ import annotations

import argparse
import os
import os.path as osp
import sys
import textwrap
import warnings
from typing import List, Optional, Sequence

import numpy as np
from mmengine.config import DictAction

from errkit.cli.common import CHECKPOINT_HELP, ConfigNotFoundError, fail
from errkit.plugin_manager import PluginError, disable_plugins
from errkit.registry import UnknownComponentError
from errkit.utils.atomic_io import atomic_open, atomic_write_json
from errkit.utils.help_text import HelpFormatter, plain_text
from errkit.utils.output_paths import OutputPathError, check_output_dir

__all__ = ["parse_args", "collect_images", "render_figure", "main", "IMAGE_EXTENSIONS"]

#: Files taken from a folder given as an image argument.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".pgm", ".ppm", ".gif",
                    ".webp")
#: Colour of the face a figure row is about; other faces are drawn in grey.
HIGHLIGHT = "#ffcc00"


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the ``errkit infer`` flags."""
    parser = argparse.ArgumentParser(prog="errkit infer", description=plain_text(__doc__),
                                     formatter_class=HelpFormatter)
    parser.add_argument("config", help="config file the checkpoint was trained with")
    parser.add_argument("checkpoint", help=CHECKPOINT_HELP)
    parser.add_argument("images", nargs="+", help="image files or folders of images")
    parser.add_argument("--out", required=True, help="folder for the figures and results.json")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--detector", default="auto",
                        help="landmark detector: auto (dlib when installed, else none), dlib, "
                        "fan, none (images are aligned faces) or a registered detector name")
    parser.add_argument("--aligned", action="store_true",
                        help="the images are aligned face crops: no detection, resize only")
    parser.add_argument("--batch-size", type=int, default=16, help="faces per forward pass")
    parser.add_argument("--neutral", metavar="IMAGE",
                        help="a neutral photo of the same person: recognise from the residual "
                             "to it (given-neutral mode) instead of the generated neutral")
    parser.add_argument("--no-figures", action="store_true", help="write results.json only")
    parser.add_argument("--residual-scale", default="fixed", metavar="SCALE",
                        help="colour scale of the residual panels: fixed (+-0.25 intensity, "
                        "the same for every figure), per-image, or a half-range in intensity "
                        "units, e.g. 0.5 (default: fixed)")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction,
                        help="override config settings, e.g. model.num_classes=6")
    parser.add_argument("--disable-plugin", action="append", default=[], metavar="NAME",
                        help="do not load this plugin; repeatable")
    return parser.parse_args(argv)


def collect_images(paths: Sequence[str]) -> List[str]:
    """Expand folders into their image files (sorted); keep other paths as given."""
    out: List[str] = []
    for path in paths:
        if osp.isdir(path):
            out += sorted(osp.join(path, n) for n in os.listdir(path)
                          if n.lower().endswith(IMAGE_EXTENSIONS))
        else:
            out.append(path)
    return out


def _show(ax, img: np.ndarray, title: str) -> None:
    if img.shape[2] == 1:
        ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=255)
    else:
        ax.imshow(img)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def _draw_points(ax, points, color: str, size: float = 4.0) -> None:
    if points is not None:
        ax.scatter(points[:, 0], points[:, 1], s=size, c=color, linewidths=0)


def render_figure(result, classes: Sequence[str], out_file: str, title: str = "",
                  scale="fixed", notes: Sequence[str] = ()) -> None:
    """Write one image's figure as PNG (matplotlib's Agg canvas, no pyplot).

    One row per face: input (this face's box and landmarks highlighted),
    aligned face, generated neutral, residual (``RdBu_r``: red where the input
    is brighter than the neutral, on a symmetric scale in intensity units,
    with its colour bar) and the probability bars. Models without expression
    removal get no neutral/residual panels; an image without faces gets the
    input and the reason.

    Args:
        result (ImageResult): An image's result, with its ``image``.
        classes (Sequence[str]): Class names, in the model's order.
        out_file (str): The ``.png`` to write (atomically).
        title (str): Figure title. Defaults to ``''``.
        scale (str | float): Residual colour scale: ``'fixed'``,
            ``'per_image'`` or a half-range in intensity units (see
            :func:`errkit.visualization.residual_limit`). Defaults to ``'fixed'``.
        notes (Sequence[str]): Lines printed under the figure (what the
            figures cannot show: the model's training data, a missing neutral
            class). Defaults to none.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # only to draw figures
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from errkit.visualization.residual_grid import check_residual_scale, residual_limit

    faces = list(result.faces)
    removal = any(face.neutral is not None for face in faces)
    cols = (5 if removal else 3) if faces else 1
    rows = max(1, len(faces))
    scale = check_residual_scale(scale)
    width = 2.6 * cols + (0.8 if faces else 2.0)
    lines = [ln for n in notes if n
             for ln in textwrap.wrap(f"note: {n}", int(width * 14), subsequent_indent="  ")]
    fig = Figure(figsize=(width, 2.7 * rows + 0.5 + 0.16 * len(lines)), dpi=100)
    FigureCanvasAgg(fig)
    axes = np.array(fig.subplots(rows, cols, squeeze=False))
    if not faces:
        _show(axes[0, 0], result.image, "input")
        axes[0, 0].set_xlabel(result.warning or result.error or "no face", fontsize=9, color="red")
    for r, face in enumerate(faces):
        row = axes[r]
        _show(row[0], result.image, f"input, face {r + 1} of {len(faces)}")
        for other in faces:
            x0, y0, x1, y1 = other.box
            mine = other is face
            row[0].add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, linewidth=1.5,
                                       edgecolor=HIGHLIGHT if mine else "0.6"))
            _draw_points(row[0], other.landmarks, HIGHLIGHT if mine else "0.6", 3.0)
        size = face.aligned_face.shape[0]
        _show(row[1], face.aligned_face, f"aligned face ({size}x{size})")
        _draw_points(row[1], face.aligned_landmarks, HIGHLIGHT, 2.0)
        if removal:
            _show(row[2], face.neutral, "generated neutral")
            res = face.residual.mean(axis=2) / 2.0  # [-1, 1] image units -> intensity
            lim = residual_limit(face.residual, scale)
            im = row[3].imshow(res, cmap="RdBu_r", vmin=-lim, vmax=lim)
            row[3].set_title("residual: input - neutral", fontsize=9)
            row[3].set_xticks([])
            row[3].set_yticks([])
            bar = fig.colorbar(im, ax=row[3], fraction=0.046, pad=0.03)
            bar.ax.tick_params(labelsize=7)
            bar.set_label("intensity, 0 to 1" + (" (scaled per image)" if scale == "per_image"
                                                 else ""), fontsize=7)
        ax = row[-1]
        probs = [face.probabilities[c] for c in classes]
        colors = [HIGHLIGHT if c == face.label else "#4c72b0" for c in classes]
        ax.barh(range(len(classes)), probs, color=colors)
        ax.set_yticks(range(len(classes)), labels=list(classes), fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.tick_params(axis="x", labelsize=7)
        mode = " with the given neutral" if face.neutral_mode == "given" else ""
        ax.set_title(f"{face.label} ({face.score:.2f}){mode}", fontsize=9, fontweight="bold")
    if title:
        fig.suptitle(title, fontsize=10)
    bottom = 0.0
    if lines:
        bottom = min(0.5, (0.16 * len(lines) + 0.1) / fig.get_figheight())
        fig.text(0.01, 0.01, "\n".join(lines), fontsize=8, color="#a04000", va="bottom",
                 ha="left")
    fig.tight_layout(rect=(0, bottom, 1, 1))
    with atomic_open(out_file, "wb") as f:
        fig.savefig(f, format="png")


def _unique_names(sources: Sequence[str]) -> List[str]:
    names, seen = [], {}
    for source in sources:
        stem = osp.splitext(osp.basename(source))[0] or "image"
        count = seen.get(stem, 0)
        seen[stem] = count + 1
        names.append(stem if count == 0 else f"{stem}_{count}")
    return names


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``tools/infer.py`` and ``errkit infer``.

    Returns:
        int: 0 when every image was processed (faces found or not), 1 when an
        image could not be read or analysed.
    """
    args = parse_args(argv)
    disable_plugins(args.disable_plugin)
    try:  # before any work: not after processing every image
        check_output_dir(args.out, "--out")
    except OutputPathError as exc:
        fail(str(exc))
    # After argument parsing, so that --help answers at once (these import torch).
    from errkit.apis.expression_remover import ExpressionRemover, OutOfDomainWarning
    from errkit.landmarks.detectors import DetectorUnavailableError
    from errkit.utils.checkpoint import CheckpointError
    from errkit.visualization.residual_grid import check_residual_scale
    try:
        scale = check_residual_scale(args.residual_scale)
    except ValueError as exc:
        fail(f"--residual-scale: {exc}")
    detector = None if args.aligned else args.detector
    try:
        remover = ExpressionRemover(args.config, args.checkpoint, device=args.device,
                                    detector=detector, aligned=args.aligned,
                                    batch_size=args.batch_size, cfg_options=args.cfg_options)
    except ConfigNotFoundError as exc:
        fail(str(exc))
    except (CheckpointError, DetectorUnavailableError, UnknownComponentError, PluginError) as exc:
        fail(str(exc))
    except (KeyError, TypeError, ValueError) as exc:
        fail(f"cannot set up inference from {args.config}: {type(exc).__name__}: {exc}")
    images = collect_images(args.images)
    if not images:
        fail(f"no image files in {args.images}")
    if args.neutral is not None and not osp.isfile(args.neutral):
        fail(f"--neutral: {args.neutral} is not a file")
    with warnings.catch_warnings():  # said once below, as one line
        warnings.simplefilter("ignore", OutOfDomainWarning)
        try:
            results = remover(images, neutral=args.neutral)
        except ValueError as exc:  # the neutral photo: unreadable, no face, unusable model
            fail(f"--neutral: {exc}")
    if remover.domain_warning:
        print(f"warning: {remover.domain_warning}", file=sys.stderr)
    os.makedirs(args.out, exist_ok=True)
    entries = []
    for result, name in zip(results, _unique_names(images)):
        figure = None
        if result.image is not None and not args.no_figures:
            figure = f"{name}.png"
            try:
                render_figure(result, remover.classes, osp.join(args.out, figure),
                              title=f"{result.source} ({type(remover.model).__name__})",
                              scale=scale, notes=result.notes)
            except (ValueError, RuntimeError, OSError) as exc:
                result.error, figure = f"cannot draw the figure of {result.source}: {exc}", None
        entries.append(dict(result.to_dict(), figure=figure))
        if result.error:
            print(f"error: {result.error}", file=sys.stderr)
        elif not result.faces:
            print(f"warning: {result.source}: {result.warning}", file=sys.stderr)
        else:
            labels = ", ".join(f"{f.label} ({f.score:.2f})" for f in result.faces)
            note = f" [{result.warning}]" if result.warning else ""
            print(f"{result.source}: {len(result.faces)} face(s): {labels}{note}")
    for note in remover.notes:
        print(f"note: {note}", file=sys.stderr)
    failed = sum(1 for r in results if r.error)
    notes = ([remover.domain_warning] if remover.domain_warning else []) + remover.notes
    summary = dict(config=remover.config_path, checkpoint=remover.checkpoint_path,
                   model=type(remover.model).__name__, classes=list(remover.classes),
                   img_size=remover.img_size, color_type=remover.color_type,
                   detector=None if remover.detector is None else type(remover.detector).__name__,
                   training_data=remover.training_data, notes=notes,
                   neutral=args.neutral, residual_scale=scale, num_images=len(results),
                   num_failed=failed,
                   images=entries)
    atomic_write_json(osp.join(args.out, "results.json"), summary)
    print(f"wrote {osp.join(args.out, 'results.json')}: {len(results)} image(s), "
          f"{sum(len(r.faces) for r in results)} face(s), {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
