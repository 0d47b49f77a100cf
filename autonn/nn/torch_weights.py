"""``load_torch_state_dict``: a PyTorch model's weights into the matching autonn model.

PyTorch and autonn name parameters the same way (``0.weight``, ``fc.bias``, ``bn.running_mean``)
and store them in the same layout, except ``Linear.weight``: PyTorch keeps ``(out_features,
in_features)`` (column vectors, ``y = x W^T + b``), autonn ``(in_features, out_features)`` (row
vectors, ``y = x W + b``). This loader transposes every ``Linear`` weight and copies everything
else as it is, into the model's own dtype. PyTorch is not needed: the source may be a dict of
NumPy arrays, of torch tensors, a torch ``nn.Module`` (its ``state_dict()``), or a safetensors
file (as ``safetensors.torch.save_file`` writes). A ``.pt``/``.pth`` file is a pickle, which
autonn never loads.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..inplace import overwrite
from ..tensor import Tensor
from .linear import Linear
from .module import Module, _IncompatibleKeys

__all__ = ["load_torch_state_dict"]

_OP = "load_torch_state_dict"


def _to_numpy(value, key):
    """An ndarray from a NumPy array, an autonn Tensor or a torch tensor (bfloat16 and other
    types NumPy lacks are widened to float32), without importing torch."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        t = value.detach().cpu()
        try:
            return t.numpy()
        except TypeError:  # bfloat16, float8: no NumPy dtype
            return t.float().numpy()
    try:
        return np.asarray(value)
    except Exception as e:  # noqa: BLE001 - reported with the key
        raise TypeError(f"{_OP}: the value of {key!r} is a {type(value).__name__}, not an "
                        f"array ({e})") from None


def _read_source(source):
    """The state dict as ``{name: ndarray}`` from a mapping, a module or a safetensors file."""
    if isinstance(source, (str, bytes, os.PathLike)):
        from .._bounded import is_safetensors, read_regular, read_safetensors
        name = os.fsdecode(os.fspath(source))
        data = read_regular(source, _OP)
        if is_safetensors(data[:9]):
            return read_safetensors(data, name, _OP)[0]
        if data[:4] == b"PK\x03\x04" or data[:1] == b"\x80":
            raise ValueError(f"{_OP}: {name} is a zip archive or a pickle, not a safetensors "
                             "file: a torch.save file (.pt/.pth) holds a pickle, which autonn "
                             "never loads; save the weights with safetensors.torch.save_file("
                             "model.state_dict(), path), or pass the state dict itself")
        raise ValueError(f"{_OP}: {name} is not a safetensors file")
    if not isinstance(source, Mapping) and callable(getattr(source, "state_dict", None)):
        source = source.state_dict()
    if not isinstance(source, Mapping):
        raise TypeError(f"{_OP}: expected a state dict (a mapping of names to arrays or "
                        f"tensors), a torch module or a safetensors path, got "
                        f"{type(source).__name__}")
    return {k: _to_numpy(v, k) for k, v in source.items()}


def _linear_weights(model):
    return {f"{name}.weight" if name else "weight": m for name, m in model.named_modules()
            if isinstance(m, Linear)}


def _convert(key, value, target, linear):
    """``(array in autonn's layout, None)`` or ``(None, error message)`` for one key."""
    if value.dtype.kind not in "biuf":
        return None, f'"{key}" holds an array of dtype {value.dtype}, not numbers'
    want = tuple(target.shape)
    if linear is not None:
        torch_shape = want[::-1]
        if value.shape == torch_shape:
            return value.T, None
        if value.ndim == 2 and value.shape == want:
            return None, (f"size mismatch for {key}: shape {value.shape} looks already "
                          f"transposed to autonn's (in_features, out_features) layout; a "
                          f"PyTorch state dict holds Linear weights as (out_features, "
                          f"in_features) = {torch_shape}, and this loader transposes them; "
                          "pass the weight as PyTorch stores it, or use model.load_state_dict")
        return None, (f"size mismatch for {key}: copying a Linear weight of shape {value.shape} "
                      f"from the state dict, the model's Linear(in_features={want[0]}, "
                      f"out_features={want[1]}) needs PyTorch's (out_features, in_features) = "
                      f"{torch_shape}")
    if value.shape == want:
        return value, None
    msg = (f"size mismatch for {key}: copying a param with shape {value.shape} from the state "
           f"dict, the shape in current model is {want}")
    if value.ndim == 2 and value.shape == want[::-1]:
        msg += " (it looks transposed)"
    elif value.ndim == len(want) > 1 and sorted(value.shape) == sorted(want):
        msg += " (its axes look permuted)"
    return None, msg


def load_torch_state_dict(model: Module, state_dict_or_path: Any, strict: bool = True) -> Any:
    """Copy a PyTorch model's weights into the matching autonn ``model``, in place.

    ``state_dict_or_path`` is a dict of NumPy arrays or torch tensors
    (``torch_model.state_dict()``), a torch module, or the path of a safetensors file.
    ``Linear`` weights are transposed from
    PyTorch's ``(out_features, in_features)`` to autonn's ``(in_features, out_features)``; all
    other entries (Conv2d, Embedding, BatchNorm1d, LayerNorm...) share PyTorch's layout and are
    copied as they are, cast to the model's dtypes. Missing or unexpected keys (with
    ``strict=True``), and shapes that do not fit, raise one RuntimeError naming every key (a
    shape that looks transposed says so); then nothing is copied. Returns
    ``(missing_keys, unexpected_keys)``, as ``load_state_dict``.

    >>> import autonn as an, numpy as np
    >>> model = an.nn.Linear(3, 2)
    >>> torch_weights = {"weight": np.arange(6.0).reshape(2, 3), "bias": np.zeros(2)}  # (out, in)
    >>> an.nn.load_torch_state_dict(model, torch_weights)
    <All keys matched successfully>
    >>> model.weight.shape, model(an.tensor([[1.0, 0.0, 0.0]])).data.tolist()
    ((3, 2), [[0.0, 3.0]])
    """
    if not isinstance(model, Module):
        raise TypeError(f"{_OP}: expected an an.nn.Module, got {type(model).__name__}")
    source = _read_source(state_dict_or_path)
    origin = ""
    if isinstance(state_dict_or_path, (str, bytes, os.PathLike)):
        origin = f" from {os.fsdecode(os.fspath(state_dict_or_path))!r}"
    own = model.state_dict(keep_vars=True)
    linear = _linear_weights(model)
    missing = [k for k in own if k not in source]
    unexpected = [k for k in source if k not in own]
    errors, copies = [], []
    if strict:
        if unexpected:
            hint = ""
            if all(k.startswith("module.") for k in source):
                hint = (" (every key starts with 'module.': a DistributedDataParallel "
                        "checkpoint; strip that prefix)")
            errors.append("Unexpected key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in unexpected) + hint + ".")
        if missing:
            errors.append("Missing key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in missing) + ".")
    for key, target in own.items():
        if key not in source:
            continue
        value, error = _convert(key, source[key], target, linear.get(key))
        if error:
            errors.append(error + ".")
        else:
            copies.append((target, value))
    if errors:
        raise RuntimeError(f"Error(s) in loading a PyTorch state_dict{origin} into "
                           f"{type(model).__name__}:\n\t" + "\n\t".join(errors))
    for target, value in copies:
        overwrite(target, value)
    return _IncompatibleKeys(missing, unexpected)
