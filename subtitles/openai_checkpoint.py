"""Turn a CTranslate2 Whisper model directory into an openai-whisper checkpoint.

faster-whisper runs CTranslate2 models; openai-whisper wants a ``.pt`` file holding
``{"dims": ModelDimensions fields, "model_state_dict": ...}``. The CTranslate2 ``model.bin`` is
a plain little-endian binary (see ``ctranslate2/specs/model_spec.py``: ``_serialize``)::

    u32 binary version, string spec name, u32 spec revision,
    u32 count, then per variable: string name, u8 rank, u32 dims..., u8 dtype, u32 nbytes, data
    u32 count, then per alias: string alias, string target

where a string is ``u16 length (with the NUL)``, the UTF-8 bytes and a NUL. The Whisper spec
fuses self-attention q/k/v into one linear and cross-attention k/v into another; openai-whisper
keeps them apart, and its key projection has no bias (CTranslate2 stores zeros there).

Weights keep their stored float dtype (float16 stays float16, as in OpenAI's own checkpoints);
int8/int16 weights are dequantised to float32 with their ``*_scale``. torch and whisper are
optional extras, imported only inside the functions that need them.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import os
import struct
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from subtitles.errors import ModelError

if TYPE_CHECKING:
    from whisper.model import Whisper

log = logging.getLogger(__name__)

SUPPORTED_BINARY_VERSION = 6
WHISPER_SPEC_NAME = "WhisperSpec"
# Order of CTranslate2's DataType enum (include/ctranslate2/types.h).
_DTYPES: dict[int, str] = {
    0: "float32",
    1: "int8",
    2: "int16",
    3: "int32",
    4: "float16",
    5: "bfloat16",
}
_OPENAI_DIM_NAMES = (
    "n_mels",
    "n_audio_ctx",
    "n_audio_state",
    "n_audio_head",
    "n_audio_layer",
    "n_vocab",
    "n_text_ctx",
    "n_text_state",
    "n_text_head",
    "n_text_layer",
)

Arrays = dict[str, np.ndarray[Any, Any]]


class CheckpointError(ModelError):
    """The CTranslate2 model cannot be read or converted; the message names the file and fix."""


def _fail(path: Path, problem: str) -> CheckpointError:
    fix = "re-install or re-convert the CTranslate2 Whisper model (ct2-transformers-converter)"
    return CheckpointError(f"{path}: {problem}; fix: {fix}")


def _read_exact(fh: BinaryIO, size: int, path: Path) -> bytes:
    data = fh.read(size)
    if len(data) != size:
        raise _fail(path, f"truncated (wanted {size} bytes at offset {fh.tell() - len(data)})")
    return data


def _read_uint(fh: BinaryIO, fmt: str, path: Path) -> int:
    value: int = struct.unpack(fmt, _read_exact(fh, struct.calcsize(fmt), path))[0]
    return value


def _read_string(fh: BinaryIO, path: Path) -> str:
    size = _read_uint(fh, "<H", path)
    raw = _read_exact(fh, size, path)
    if size == 0 or raw[-1] != 0:
        raise _fail(path, "corrupt string in header")
    return raw[:-1].decode("utf-8")


def _decode_array(raw: bytes, dtype_id: int, shape: tuple[int, ...], name: str, path: Path) -> Any:
    dtype = _DTYPES.get(dtype_id)
    if dtype is None:
        raise _fail(path, f"variable {name!r} has unsupported dtype id {dtype_id}")
    if dtype == "bfloat16":
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        array = bits.view(np.float32)
    else:
        array = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
    if array.size != int(np.prod(shape)):
        raise _fail(path, f"variable {name!r}: {array.size} values for shape {shape}")
    return array.reshape(shape)


def _read_variable(fh: BinaryIO, path: Path) -> tuple[str, Any]:
    name = _read_string(fh, path)
    rank = _read_uint(fh, "<B", path)
    shape = tuple(_read_uint(fh, "<I", path) for _ in range(rank))
    dtype_id = _read_uint(fh, "<B", path)
    nbytes = _read_uint(fh, "<I", path)
    return name, _decode_array(_read_exact(fh, nbytes, path), dtype_id, shape, name, path)


def _read_header(fh: BinaryIO, path: Path) -> None:
    version = _read_uint(fh, "<I", path)
    if version != SUPPORTED_BINARY_VERSION:
        raise _fail(path, f"binary version {version}, only {SUPPORTED_BINARY_VERSION} is read")
    spec = _read_string(fh, path)
    revision = _read_uint(fh, "<I", path)
    if spec != WHISPER_SPEC_NAME:
        raise _fail(path, f"spec {spec!r} is not {WHISPER_SPEC_NAME}")
    log.debug("reading %s: %s revision %d", path, spec, revision)


def read_ct2_variables(model_bin: Path) -> Arrays:
    """All variables of a CTranslate2 ``model.bin`` by name, aliases resolved, weights as floats."""
    if not model_bin.is_file():
        raise _fail(model_bin, "model.bin not found")
    variables: Arrays = {}
    with model_bin.open("rb") as fh:
        _read_header(fh, model_bin)
        for _ in range(_read_uint(fh, "<I", model_bin)):
            name, array = _read_variable(fh, model_bin)
            variables[name] = array
        for _ in range(_read_uint(fh, "<I", model_bin)):
            alias, target = _read_string(fh, model_bin), _read_string(fh, model_bin)
            if target not in variables:
                raise _fail(model_bin, f"alias {alias!r} points to missing {target!r}")
            variables[alias] = variables[target]
        if fh.read(1):
            raise _fail(model_bin, "trailing bytes after the alias table")
    return _dequantize(variables, model_bin)


def _dequantize(variables: Arrays, path: Path) -> Arrays:
    """Divide int8/int16 weights by their ``*_scale`` (CTranslate2 multiplies before rounding)."""
    out: Arrays = {}
    for name, array in variables.items():
        if name.endswith("_scale") or name.endswith("_zero"):
            continue
        if f"{name}_zero" in variables:
            raise _fail(path, f"{name!r} is AWQ-quantised; convert from float weights instead")
        scale = variables.get(f"{name}_scale")
        if scale is not None:
            scale = scale.astype(np.float32).reshape(scale.shape + (1,) * (array.ndim - scale.ndim))
            array = array.astype(np.float32) / scale
        elif array.ndim > 0 and array.dtype.kind != "f":
            raise _fail(path, f"{name!r} is {array.dtype} without a scale; unsupported dtype")
        out[name] = array
    return out


def _num_layers(variables: Arrays, prefix: str) -> int:
    count = 0
    while f"{prefix}/layer_{count}/ffn/linear_0/weight" in variables:
        count += 1
    return count


def infer_dims(variables: Arrays) -> dict[str, int]:
    """openai-whisper ModelDimensions fields, read off the weight shapes and stored head counts."""
    audio_pos = variables["encoder/position_encodings/encodings"]
    embeddings = variables["decoder/embeddings/weight"]
    dims = {
        "n_mels": int(variables["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(audio_pos.shape[0]),
        "n_audio_state": int(audio_pos.shape[1]),
        "n_audio_head": int(variables["encoder/num_heads"]),
        "n_audio_layer": _num_layers(variables, "encoder"),
        "n_vocab": int(embeddings.shape[0]),
        "n_text_ctx": int(variables["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(embeddings.shape[1]),
        "n_text_head": int(variables["decoder/num_heads"]),
        "n_text_layer": _num_layers(variables, "decoder"),
    }
    return {name: dims[name] for name in _OPENAI_DIM_NAMES}


def _linear(out: Arrays, dst: str, variables: Arrays, src: str, bias: bool = True) -> None:
    out[f"{dst}.weight"] = variables[f"{src}/weight"]
    if bias:
        out[f"{dst}.bias"] = variables[f"{src}/bias"]


def _layer_norm(out: Arrays, dst: str, variables: Arrays, src: str) -> None:
    out[f"{dst}.weight"] = variables[f"{src}/gamma"]
    out[f"{dst}.bias"] = variables[f"{src}/beta"]


def _split_fused(out: Arrays, dst: str, weight: Any, bias: Any, names: tuple[str, ...]) -> None:
    """Split a fused projection row-wise; openai-whisper's key projection has no bias."""
    parts = len(names)
    for name, w, b in zip(names, np.split(weight, parts), np.split(bias, parts), strict=True):
        out[f"{dst}.{name}.weight"] = w
        if name != "key":
            out[f"{dst}.{name}.bias"] = b


def _attention(out: Arrays, dst: str, variables: Arrays, src: str, cross: bool) -> None:
    _layer_norm(out, f"{dst}_ln", variables, f"{src}/layer_norm")
    fused = variables[f"{src}/linear_{1 if cross else 0}/weight"]
    fused_bias = variables[f"{src}/linear_{1 if cross else 0}/bias"]
    if cross:
        _linear(out, f"{dst}.query", variables, f"{src}/linear_0")
    names = ("key", "value") if cross else ("query", "key", "value")
    _split_fused(out, dst, fused, fused_bias, names)
    _linear(out, f"{dst}.out", variables, f"{src}/linear_{2 if cross else 1}")


def _block(out: Arrays, dst: str, variables: Arrays, src: str, decoder: bool) -> None:
    _attention(out, f"{dst}.attn", variables, f"{src}/self_attention", cross=False)
    if decoder:
        _attention(out, f"{dst}.cross_attn", variables, f"{src}/attention", cross=True)
    _layer_norm(out, f"{dst}.mlp_ln", variables, f"{src}/ffn/layer_norm")
    _linear(out, f"{dst}.mlp.0", variables, f"{src}/ffn/linear_0")
    _linear(out, f"{dst}.mlp.2", variables, f"{src}/ffn/linear_1")


def openai_state_dict(variables: Arrays, dims: dict[str, int]) -> Arrays:
    """Rename (and split) CTranslate2 Whisper variables into openai-whisper state-dict keys."""
    out: Arrays = {}
    for conv in ("conv1", "conv2"):
        _linear(out, f"encoder.{conv}", variables, f"encoder/{conv}")
    out["encoder.positional_embedding"] = variables["encoder/position_encodings/encodings"]
    for i in range(dims["n_audio_layer"]):
        _block(out, f"encoder.blocks.{i}", variables, f"encoder/layer_{i}", decoder=False)
    _layer_norm(out, "encoder.ln_post", variables, "encoder/layer_norm")
    out["decoder.token_embedding.weight"] = variables["decoder/embeddings/weight"]
    out["decoder.positional_embedding"] = variables["decoder/position_encodings/encodings"]
    for i in range(dims["n_text_layer"]):
        _block(out, f"decoder.blocks.{i}", variables, f"decoder/layer_{i}", decoder=True)
    _layer_norm(out, "decoder.ln", variables, "decoder/layer_norm")
    return out


def _check_tied_projection(variables: Arrays, path: Path) -> None:
    projection = variables.get("decoder/projection/weight")
    embeddings = variables["decoder/embeddings/weight"]
    if projection is not None and not np.array_equal(projection, embeddings):
        raise _fail(path, "output projection is not tied to the token embedding")


def convert_ct2_to_openai(ct2_dir: Path, out_path: Path) -> Path:
    """Write ``out_path`` (an openai-whisper ``.pt``) from ``ct2_dir``; atomic; returns it."""
    model_bin = ct2_dir / "model.bin"
    variables = read_ct2_variables(model_bin)
    try:
        _check_tied_projection(variables, model_bin)
        dims = infer_dims(variables)
        arrays = openai_state_dict(variables, dims)
    except KeyError as missing:
        raise _fail(model_bin, f"Whisper variable {missing} missing") from None
    import torch

    state = {key: torch.from_numpy(np.array(value)) for key, value in arrays.items()}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as fh:
            torch.save({"dims": dims, "model_state_dict": state}, fh)
        tmp.replace(out_path)  # os.replace: atomic on one filesystem
    finally:
        tmp.unlink(missing_ok=True)
    log.info("converted %s to %s (%s)", ct2_dir, out_path, dims)
    return out_path


def alignment_heads_mask(heads: list[list[int]], n_layer: int, n_head: int) -> Any:
    """Dense bool mask (n_layer, n_head) with True at each ``[layer, head]`` pair."""
    mask = np.zeros((n_layer, n_head), dtype=bool)
    for layer, head in heads:
        if not (0 <= layer < n_layer and 0 <= head < n_head):
            raise CheckpointError(f"alignment head {[layer, head]} outside {n_layer}x{n_head}")
        mask[layer, head] = True
    return mask


def encode_alignment_heads(mask: Any) -> bytes:
    """The base85 gzip form ``Whisper.set_alignment_heads`` takes (as in whisper/__init__.py)."""
    raw = np.ascontiguousarray(mask, dtype=bool).tobytes()
    return base64.b85encode(gzip.compress(raw, mtime=0))


def _read_alignment_heads(ct2_config: Path) -> list[list[int]] | None:
    try:
        with ct2_config.open(encoding="utf-8") as fh:
            config = json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{ct2_config}: unreadable config.json ({exc})") from None
    heads = config.get("alignment_heads") if isinstance(config, dict) else None
    return [[int(layer), int(head)] for layer, head in heads] if heads else None


def _prime_tokenizer(model: Whisper) -> None:
    """Build whisper's cached tokenizer now: its loader leaves the vocabulary file unclosed, and
    the ResourceWarning that raises is an error under ``-W error`` (our pytest settings)."""
    from whisper.tokenizer import get_tokenizer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        get_tokenizer(model.is_multilingual, num_languages=model.num_languages)


def load_openai_model(checkpoint: Path, ct2_config: Path | None, device: str = "cpu") -> Whisper:
    """``whisper.load_model(checkpoint)`` with alignment heads from ``ct2_config`` (if given)."""
    import whisper

    model = whisper.load_model(str(checkpoint), device=device)
    _prime_tokenizer(model)
    heads = _read_alignment_heads(ct2_config) if ct2_config is not None else None
    if heads is None:
        log.warning("no alignment_heads for %s; word timings use the default heads", checkpoint)
        return model
    dims = model.dims
    mask = alignment_heads_mask(heads, dims.n_text_layer, dims.n_text_head)
    model.set_alignment_heads(encode_alignment_heads(mask))
    model.to(device)
    return model
