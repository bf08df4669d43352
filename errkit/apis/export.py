"""Export the recognition path (image -> probabilities, neutral, residual) to TorchScript or ONNX.

The exported graph takes aligned faces ``(B, C, S, S)`` float32 in ``[-1, 1]``
(``uint8 / 127.5 - 1``, with ``C`` and ``S`` as in the config's test
pipeline) and returns, for an ERR-Net, ``probs`` ``(B, K)``, ``activations``
``(B, K)`` (segment activations), ``neutral`` ``(B, C, S, S)`` in ``[-1, 1]``
and ``residual`` ``(B, C, S, S)``; for a plain classifier only ``probs``. A
model with a residual branch that reads the face's own landmarks (such as
:class:`~errkit.models.residuals.DetectedLandmarkResidual`) takes them as a
second input ``landmarks`` ``(B, 68, 2)`` float32, ``(x, y)`` in the aligned
face's pixels, from the detector that aligned it. The
class names, face size and colour type, and the checkpoint's training data
and notes (see :mod:`errkit.apis.training_domain`), travel with the file:
TorchScript's extra file ``errkit_meta.json``, ONNX ``metadata_props`` key
``errkit_meta``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from errkit.apis.expression_remover import ExpressionRemover
from errkit.landmarks.mean_shape import canonical_landmarks
from errkit.models.residuals import ResidualContext
from errkit.utils.output_paths import OutputPathError, check_output_file

__all__ = ["ExportError", "ExportResult", "ERRNetExportWrapper", "ClassifierExportWrapper",
           "export_wrapper", "export_model", "EXPORT_FORMATS", "META_KEY"]

#: Formats :func:`export_model` writes.
EXPORT_FORMATS = ("torchscript", "onnx")
#: Name of the metadata entry (TorchScript extra file ``META_KEY + '.json'``).
META_KEY = "errkit_meta"
#: Name of the exported graph's image input.
INPUT_NAME = "img"
#: Name of the exported graph's landmark input (models that read them).
LANDMARKS_INPUT_NAME = "landmarks"
#: Inference context fields an exported graph can take as inputs.
EXPORTABLE_FIELDS = (LANDMARKS_INPUT_NAME,)


class ExportError(RuntimeError):
    """The model could not be exported, or the export does not reproduce it."""


class ERRNetExportWrapper(nn.Module):
    """ERR-Net's inference path as a module returning a tuple of tensors.

    Holds the model's generator and recognizer only (not the discriminator,
    the losses or ERR-Net's non-tensor extra state), and computes what
    :meth:`errkit.models.ERRNet.infer` computes.

    Args:
        model (ERRNet): A model in eval mode.

    Raises:
        ExportError: A residual branch needs an inference input other than the
            image and its landmarks (see ``needs_at_inference``).

    Shape:
        - Input: ``img`` ``(B, C, H, W)`` in ``[-1, 1]``; for branches that read
          the face's own landmarks also ``landmarks`` ``(B, 68, 2)``.
        - Output: ``probs`` and ``activations`` ``(B, K)``; with a decoder also
          ``neutral`` (clamped to ``[-1, 1]``) and ``residual`` ``(B, C, H, W)``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.generator = model.generator
        self.recognizer = model.recognizer
        self.has_decoder = model.generator.decoder is not None
        needed = {name: type(branch).__name__ for branch in self.recognizer.residuals
                  for name in getattr(branch, "needs_at_inference", ())}
        unsupported = {name: owner for name, owner in needed.items()
                       if name not in EXPORTABLE_FIELDS}
        if unsupported:
            raise ExportError("cannot export: " + "; ".join(
                f"{owner} needs '{name}' at inference" for name, owner in unsupported.items())
                + f" (an exported graph takes the image and {', '.join(EXPORTABLE_FIELDS)})")
        self.takes_landmarks = LANDMARKS_INPUT_NAME in needed

    @property
    def input_names(self) -> List[str]:
        """Names of the inputs, in order."""
        return [INPUT_NAME] + ([LANDMARKS_INPUT_NAME] if self.takes_landmarks else [])

    @property
    def output_names(self) -> List[str]:
        """Names of the outputs, in order."""
        return ["probs", "activations"] + (["neutral", "residual"] if self.has_decoder else [])

    def forward(self, img: torch.Tensor, landmarks: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, ...]:
        gen = self.generator(img)
        ctx = ResidualContext(x=img, neutral_hat=gen["neutral"], residual_hat=gen["residual"],
                              encoder_features=gen["features"], z=gen["z"],
                              activations=gen["activations"], landmarks=landmarks)
        logits = self.recognizer(ctx, None)["logits"].float()
        outputs = (logits.softmax(dim=1), gen["activations"].float())
        if self.has_decoder:
            outputs += (gen["neutral"].float().clamp(-1.0, 1.0), gen["residual"].float())
        return outputs


class ClassifierExportWrapper(nn.Module):
    """A classifier's ``mode='tensor'`` logits as softmax probabilities.

    Args:
        model (nn.Module): A model whose ``forward(img, mode='tensor')`` returns
            logits ``(B, K)`` (e.g. ``TimmClassifier``).
    """

    input_names = [INPUT_NAME]
    output_names = ["probs"]

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, img: torch.Tensor) -> Tuple[torch.Tensor]:
        return (self.model(img, mode="tensor").float().softmax(dim=1),)


def export_wrapper(model: nn.Module) -> nn.Module:
    """The exportable module of a model (an ERR-Net or a logits classifier)."""
    if hasattr(model, "generator") and hasattr(model, "recognizer"):
        return ERRNetExportWrapper(model).eval()
    return ClassifierExportWrapper(model).eval()


def _eager_outputs(model: nn.Module, inputs: Dict[str, torch.Tensor], names: Sequence[str]
                   ) -> List[torch.Tensor]:
    """The reference: the model's own ``infer`` (or softmax of its logits)."""
    with torch.no_grad():
        if callable(getattr(model, "infer", None)):
            out = model.infer(**inputs)
            return [out[name] for name in names]
        return [model(inputs[INPUT_NAME], mode="tensor").float().softmax(dim=1)]


def _example_inputs(names: Sequence[str], batch: int, channels: int, size: int,
                    gen: torch.Generator, device: str) -> Dict[str, torch.Tensor]:
    """Random faces and, when asked for, plausible landmarks (the mean face
    shape jittered by a pixel) to trace and check the graph with."""
    inputs = {INPUT_NAME: torch.rand(batch, channels, size, size, generator=gen) * 2 - 1}
    if LANDMARKS_INPUT_NAME in names:
        mean = torch.as_tensor(canonical_landmarks(size), dtype=torch.float32)
        inputs[LANDMARKS_INPUT_NAME] = mean + torch.randn(batch, *mean.shape, generator=gen)
    return {name: value.to(device) for name, value in inputs.items()}


@dataclass
class ExportResult:
    """What :func:`export_model` wrote and how it was checked.

    Attributes:
        path (str): The file written.
        format (str): ``'torchscript'`` or ``'onnx'``.
        exporter (str): The exporter used (``torch.jit.trace``,
            ``torch.onnx dynamo`` or ``torch.onnx legacy``).
        input_shape (tuple): Example image input shape ``(B, C, S, S)``.
        output_names (list[str]): Output names, in order.
        meta (dict): The metadata stored in the file.
        verified_with (str): What ran the exported file for the comparison, or
            ``'none'``.
        max_abs_diff (dict[str, float]): Largest difference to the eager model
            per output, over the checked batch sizes.
        notes (list[str]): E.g. a failed exporter that was fallen back from.
    """

    path: str
    format: str
    exporter: str
    input_shape: Tuple[int, ...]
    output_names: List[str]
    meta: dict
    verified_with: str = "none"
    max_abs_diff: Dict[str, float] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)


def _quiet(fn: Callable, *args, **kwargs):
    """Run an exporter with its warnings and progress prints silenced."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _export_torchscript(wrapper: nn.Module, example: Tuple[torch.Tensor, ...], out_file: str,
                        meta: dict) -> str:
    traced = _quiet(torch.jit.trace, wrapper, example, check_trace=False)
    _quiet(torch.jit.save, traced, out_file,
           _extra_files={f"{META_KEY}.json": json.dumps(meta)})
    return "torch.jit.trace"


def _export_onnx(wrapper: nn.Module, example: Tuple[torch.Tensor, ...], out_file: str, meta: dict,
                 dynamic_batch: bool, opset_version: Optional[int], dynamo: Optional[bool],
                 notes: List[str]) -> str:
    import onnx

    inputs, names = list(wrapper.input_names), list(wrapper.output_names)
    errors = []
    for use_dynamo in ([True, False] if dynamo is None else [bool(dynamo)]):
        kwargs = dict(input_names=inputs, output_names=names, dynamo=use_dynamo)
        if opset_version is not None:
            kwargs["opset_version"] = opset_version
        if dynamic_batch and use_dynamo:
            batch = torch.export.Dim("batch", min=1)
            kwargs["dynamic_shapes"] = {name: {0: batch} for name in inputs}
        elif dynamic_batch:
            kwargs["dynamic_axes"] = {n: {0: "batch"} for n in inputs + names}
        try:
            _quiet(torch.onnx.export, wrapper, example, out_file, **kwargs)
            break
        except Exception as exc:  # every exporter failure is reported with the fallback's
            errors.append(f"torch.onnx.export(dynamo={use_dynamo}) failed: "
                          f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
    else:
        raise ExportError("ONNX export failed:\n  " + "\n  ".join(errors))
    notes.extend(errors)
    proto = onnx.load(out_file)
    entry = proto.metadata_props.add()
    entry.key, entry.value = META_KEY, json.dumps(meta)
    onnx.save(proto, out_file)
    try:
        onnx.checker.check_model(out_file, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"{out_file} is not a valid ONNX model: {exc}") from exc
    return f"torch.onnx {'dynamo' if use_dynamo else 'legacy'}"


def _onnx_runner(out_file: str, input_names: Sequence[str], notes: List[str]
                 ) -> Tuple[Optional[Callable], str]:
    """Run an ONNX file with onnxruntime, else onnx's reference evaluator."""
    try:
        import onnxruntime
    except ImportError:
        onnxruntime = None
    if onnxruntime is not None:
        session = onnxruntime.InferenceSession(out_file, providers=["CPUExecutionProvider"])
        return (lambda *xs: session.run(None, dict(zip(input_names, xs)))), "onnxruntime"
    notes.append("onnxruntime is not installed: outputs checked with onnx.reference "
                 "(the ONNX reference implementation)")
    from onnx.reference import ReferenceEvaluator

    evaluator = ReferenceEvaluator(out_file)
    return (lambda *xs: evaluator.run(None, dict(zip(input_names, xs)))), "onnx.reference"


def export_model(config, checkpoint: Optional[str], out_file: str, format: str = "torchscript",
                 batch_size: int = 1, dynamic_batch: bool = True, device: str = "cpu",
                 cfg_options: Optional[dict] = None, verify: bool = True, atol: float = 1e-4,
                 opset_version: Optional[int] = None,
                 dynamo: Optional[bool] = None) -> ExportResult:
    """Export a checkpoint's recognition path and check it against the eager model.

    Args:
        config (str | Config): The config the checkpoint was trained with.
        checkpoint (str, optional): The checkpoint: a file, a
            ``last_checkpoint`` file or a work dir (see
            :func:`~errkit.utils.checkpoint_path.resolve_checkpoint`). None:
            random weights.
        out_file (str): The ``.pt`` / ``.onnx`` file to write.
        format (str): ``'torchscript'`` or ``'onnx'``. Defaults to
            ``'torchscript'``.
        batch_size (int): Batch size of the example input. Defaults to 1.
        dynamic_batch (bool): Let the batch size vary (the example then has at
            least 2 faces, and the check also runs another batch size).
            Defaults to True.
        device (str): Defaults to ``'cpu'``.
        cfg_options (dict, optional): Config overrides.
        verify (bool): Run the exported file (TorchScript: torch.jit.load;
            ONNX: onnxruntime when installed, else ``onnx.reference``) and
            compare with the eager model. Defaults to True.
        atol (float): Largest allowed difference. Defaults to 1e-4.
        opset_version (int, optional): ONNX opset (exporter default if None).
        dynamo (bool, optional): ONNX exporter: True the ``torch.export``
            one, False the legacy TorchScript one, None the first, falling
            back to the second. Defaults to None.

    Returns:
        ExportResult: The file, exporter and check.

    Raises:
        ExportError: Unknown format, an ``out_file`` that cannot be written
            (checked before the model is built), a residual branch that needs
            an inference input a graph cannot take, failed export, or outputs
            that differ by more than ``atol`` (the file is kept for inspection).
    """
    if format not in EXPORT_FORMATS:
        raise ExportError(f"format must be one of {EXPORT_FORMATS}, got {format!r}")
    try:
        check_output_file(out_file, "export target")
    except OutputPathError as exc:
        raise ExportError(str(exc)) from None
    remover = ExpressionRemover(config, checkpoint, device=device, detector=None,
                                cfg_options=cfg_options)
    model = remover.model
    pre = getattr(model, "data_preprocessor", None)
    channels = getattr(pre, "num_channels", None) or (1 if remover.color_type == "grey" else 3)
    wrapper = export_wrapper(model)
    input_names = list(wrapper.input_names)
    for param in wrapper.parameters():  # a model built for export: inference outputs only
        param.requires_grad_(False)
    size = remover.img_size
    example_batch = max(int(batch_size), 2 if dynamic_batch else 1)
    gen = torch.Generator().manual_seed(0)
    example = _example_inputs(input_names, example_batch, channels, size, gen, device)
    meta = dict(model=type(model).__name__, config=str(remover.config_path),
                checkpoint=remover.checkpoint_path, training_data=remover.training_data,
                notes=remover.notes, classes=list(remover.classes), img_size=size, color_type=remover.color_type,
                input=dict(name=INPUT_NAME, shape=["batch" if dynamic_batch else example_batch,
                                                   channels, size, size],
                           dtype="float32", range=[-1.0, 1.0], from_uint8="x / 127.5 - 1"),
                outputs=list(wrapper.output_names))
    if LANDMARKS_INPUT_NAME in input_names:
        meta["landmarks"] = dict(name=LANDMARKS_INPUT_NAME,
                                 shape=[meta["input"]["shape"][0], 68, 2], dtype="float32",
                                 units="(x, y) pixels of the aligned face (img)")
    os.makedirs(os.path.dirname(os.path.abspath(out_file)), exist_ok=True)
    notes: List[str] = []
    if format == "torchscript":
        exporter = _export_torchscript(wrapper, tuple(example.values()), out_file, meta)
    else:
        exporter = _export_onnx(wrapper, tuple(example.values()), out_file, meta, dynamic_batch,
                                opset_version, dynamo, notes)
    result = ExportResult(path=out_file, format=format, exporter=exporter,
                          input_shape=tuple(example[INPUT_NAME].shape), output_names=list(wrapper.output_names),
                          meta=meta, notes=notes)
    if not verify:
        return result
    if format == "torchscript":
        loaded = _quiet(torch.jit.load, out_file, map_location=device)
        run, result.verified_with = (lambda *xs: loaded(*xs)), "torch.jit.load"
    else:
        run, result.verified_with = _onnx_runner(out_file, input_names, notes)
    batches = [example] + ([_example_inputs(input_names, example_batch + 1, channels, size, gen,
                                            device)] if dynamic_batch else [])
    for inputs in batches:
        expected = _eager_outputs(model, inputs, result.output_names)
        with torch.no_grad():
            got = run(*(x if format == "torchscript" else x.cpu().numpy()
                        for x in inputs.values()))
        for name, want, have in zip(result.output_names, expected, got):
            have = torch.as_tensor(have).to(want.device)
            if have.shape != want.shape:
                raise ExportError(f"{out_file}: output {name} has shape {tuple(have.shape)}, "
                                  f"the model gives {tuple(want.shape)}")
            diff = float((have.float() - want.float()).abs().max())
            result.max_abs_diff[name] = max(result.max_abs_diff.get(name, 0.0), diff)
    bad = {k: v for k, v in result.max_abs_diff.items() if not v <= atol}
    if bad:
        raise ExportError(f"{out_file} ({exporter}, run with {result.verified_with}) differs "
                          f"from the eager model by more than {atol}: {bad} (file kept)")
    return result
