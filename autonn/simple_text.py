"""The text format of ``autonn.simple`` networks: ``write_text``, ``read_text``,
``read_text_layers``.

``Network.save`` writes, and ``NNBuilder.load`` reads, this line-oriented format::

    # autonn simple network v1
    sha256 6ed2...(64 hex digits)
    dtype float64
    layers 2
    layer 0 in 3 out 2 act relu
    W
    0.5 -1.25
    1 0
    2.5 3e-05
    b
    0.1 0.2
    layer 1 in 2 out 1 act identity
    W
    1.5
    -2
    b
    0

* The first line is exactly ``# autonn simple network v1``. After it, blank lines and lines
  starting with ``#`` are ignored.
* ``sha256 HEX`` (optional; ``save`` writes it): the second line may hold the SHA-256 of the
  file's bytes without that line (64 lowercase hex digits). When it is present, ``load``
  checks it, so a damaged file (even one flipped bit) is an error instead of other weights;
  files without it load as before. It can only be the second line.
* ``dtype NAME`` (optional, default ``float64``): a NumPy float dtype name (``float32``,
  ``float64``, ``longdouble``) the weights are read into.
* ``layers N`` (optional): the number of layers; checked against the layers that follow.
* Each layer: ``layer K in I out O`` (K counts from 0), optionally followed by ``act NAME``
  (``identity``, ``relu``, ``sigmoid``, ``tanh`` or ``softmax``: the functions of
  ``autonn.simple.ACTIVATIONS``), a line ``W`` followed by ``I`` rows of ``O``
  whitespace-separated numbers, a line ``b`` followed by one row of ``O`` numbers. Each
  layer's ``in`` must equal the previous layer's ``out``.
  ``NNBuilder.load`` uses the activations given in code and ignores the names; tools that have
  no code (``autonn compress``, ``load_named``) need them. ``save`` writes the name of a layer
  whose activation is one of ``autonn.simple.ACTIVATIONS``.
* Numbers are anything ``float()`` reads (``1``, ``-2.5e-3``, ``nan``, ``inf``). ``save`` writes
  the shortest string that reads back to the same value, so a round trip is exact.

A malformed file raises a ``ValueError`` naming the file and the line. Reading is bounded:
only regular files are read, and nothing is allocated from a declared size alone: each row of
``W`` must hold its ``O`` numbers, and ``W`` is made from the ``I`` rows once they are read.

>>> import numpy as np, os, tempfile
>>> from autonn.simple_text import write_text, read_text
>>> path = os.path.join(tempfile.mkdtemp(), "n.txt")
>>> write_text(path, [(np.array([[1.0, 2.0]]), np.array([0.0, 0.5]))])
>>> read_text(path)
[(array([[1., 2.]]), array([0. , 0.5]))]
"""
from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["MAGIC", "ACTIVATION_NAMES", "write_text", "read_text", "read_text_layers"]

MAGIC = "# autonn simple network v1"
ACTIVATION_NAMES = ("identity", "relu", "sigmoid", "tanh", "softmax")
_CHECKSUM = re.compile(rb"sha256 ([0-9a-f]{64})")


def write_text(path: str | os.PathLike[str], layers: Iterable[Sequence[Any]],
               checksum: bool = True) -> None:
    """Write ``layers`` (a list of ``(W, b)`` or ``(W, b, activation_name)``) to ``path`` in
    the text format, atomically, in their common dtype, with the ``sha256`` line unless
    ``checksum=False``.

    >>> import numpy as np, os, tempfile
    >>> from autonn.simple_text import write_text, read_text_layers
    >>> path = os.path.join(tempfile.mkdtemp(), "n.txt")
    >>> write_text(path, [(np.eye(2), np.zeros(2), "relu")])
    >>> read_text_layers(path)[0][2]
    'relu'
    """
    layers = [tuple(item) + (None,) * (3 - len(item)) for item in layers]
    dt = np.result_type(*[np.asarray(a).dtype for W, b, _ in layers for a in (W, b)])
    lines = [f"dtype {dt.name if dt != np.longdouble else 'longdouble'}", f"layers {len(layers)}"]
    for k, (W, b, name) in enumerate(layers):
        W, b = np.asarray(W, dtype=dt), np.asarray(b, dtype=dt)
        if name is not None and name not in ACTIVATION_NAMES:
            raise ValueError(f"write_text: unknown activation name {name!r} for layer {k}; "
                             f"known: {', '.join(ACTIVATION_NAMES)}")
        act = "" if name is None else f" act {name}"
        lines.append(f"layer {k} in {W.shape[0]} out {W.shape[1]}{act}")
        lines.append("W")
        lines.extend(" ".join(_fmt(x) for x in row) for row in W)
        lines.append("b")
        lines.append(" ".join(_fmt(x) for x in b))
    head = (MAGIC + "\n").encode("utf-8")
    body = ("\n".join(lines) + "\n").encode("utf-8")
    if checksum:
        digest = hashlib.sha256(head + body).hexdigest()
        head += f"sha256 {digest}\n".encode("ascii")
    from ._atomic import atomic_write
    atomic_write(path, lambda f: f.write(head + body))


def _fmt(x):
    """The shortest decimal string that reads back to exactly ``x`` (any float dtype)."""
    if x == 0 or (np.isfinite(x) and 1e-4 <= abs(x) < 1e16):
        return np.format_float_positional(x, unique=True, trim="-")
    return np.format_float_scientific(x, unique=True, trim="-")


# ----------------------------------------------------------------------------- text format reader
class _Lines:
    """The meaningful lines of a text file, with their 1-based numbers, for error messages."""

    def __init__(self, path, text):
        self.path = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
        self.items = []
        for n, line in enumerate(text.splitlines(), 1):
            s = line.strip()
            if n == 1 or (s and not s.startswith("#")):
                self.items.append((n, s))
        self.pos = 0

    def error(self, n, msg):
        return ValueError(f"{self.path}, line {n}: {msg}")

    def remaining(self):
        return len(self.items) - self.pos

    def peek(self):
        return self.items[self.pos] if self.pos < len(self.items) else (None, None)

    def next(self, expected):
        if self.pos >= len(self.items):
            last = self.items[-1][0] if self.items else 0
            raise ValueError(f"{self.path}, line {last + 1}: unexpected end of file, "
                             f"expected {expected}")
        item = self.items[self.pos]
        self.pos += 1
        return item


def _read_numbers(lines, dtype, count, what):
    n, s = lines.next(what)
    tokens = s.split()
    if len(tokens) != count:
        raise lines.error(n, f"expected {what} ({count} number(s)), got {len(tokens)} "
                             f"value(s): {s[:60]!r}")
    try:
        return np.array(tokens).astype(dtype)
    except ValueError:
        raise lines.error(n, f"{what}: not a number in {s[:60]!r}") from None


def _positive_int(lines, n, token, what):
    try:
        value = int(token)
    except ValueError:
        raise lines.error(n, f"{what} must be an integer, got {token!r}") from None
    if value <= 0:
        raise lines.error(n, f"{what} must be positive, got {value}")
    return value


def _text_of(raw, name):
    """The text of the file's bytes, with its checksum line (if any) verified and blanked."""
    first = raw.find(b"\n")
    if first >= 0 and raw.startswith(b"sha256", first + 1):
        end = raw.find(b"\n", first + 1)
        end = len(raw) if end < 0 else end
        m = _CHECKSUM.fullmatch(raw[first + 1:end])
        if m is None:
            raise ValueError(f"{name}, line 2: malformed checksum line (expected 'sha256' and "
                             "64 lowercase hex digits)")
        if hashlib.sha256(raw[:first + 1] + raw[end + 1:]).hexdigest().encode() != m.group(1):
            raise ValueError(f"{name}: the file is corrupted: its SHA-256 does not match the "
                             "checksum on line 2")
        raw = raw[:first + 1] + raw[end:]  # line 2 left blank: line numbers stay the file's
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{name}: not a text file ({e})") from None


def read_text(path: str | os.PathLike[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Parse a file in the text format: a list of ``(W, b)`` arrays, one pair per layer.

    >>> import os, tempfile
    >>> from autonn.simple_text import read_text, MAGIC
    >>> path = os.path.join(tempfile.mkdtemp(), "n.txt")
    >>> _ = open(path, "w").write(MAGIC + "\\nlayer 0 in 1 out 2\\nW\\n1 2\\nb\\n0 0.5\\n")
    >>> read_text(path)
    [(array([[1., 2.]]), array([0. , 0.5]))]
    """
    return [(W, b) for W, b, _ in read_text_layers(path)]


def read_text_layers(path: str | os.PathLike[str]) -> list[tuple[np.ndarray, np.ndarray, str | None]]:
    """Parse a file in the text format: a list of ``(W, b, activation_name)``, one per layer
    (the name is ``None`` where the file gives none).

    >>> import os, tempfile
    >>> from autonn.simple_text import read_text_layers, MAGIC
    >>> path = os.path.join(tempfile.mkdtemp(), "n.txt")
    >>> _ = open(path, "w").write(MAGIC + "\\nlayer 0 in 1 out 1 act tanh\\nW\\n2\\nb\\n0\\n")
    >>> read_text_layers(path)
    [(array([[2.]]), array([0.]), 'tanh')]
    """
    from ._bounded import read_regular
    name = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
    return _parse_text(read_regular(path, "read_text"), name)


def _parse_text(raw, name):
    text = _text_of(raw, name)
    lines = _Lines(name, text)
    n, first = lines.next("the header line")
    if first != MAGIC:
        raise lines.error(n, f"expected the header {MAGIC!r}, got {first[:60]!r}")
    dtype = np.dtype(np.float64)
    n, s = lines.peek()
    if s is not None and s.split()[0] == "dtype":
        lines.next("dtype")
        parts = s.split()
        try:
            if len(parts) != 2:
                raise TypeError
            dtype = np.dtype(parts[1])
        except TypeError:
            raise lines.error(n, f"expected 'dtype NAME', got {s[:60]!r}") from None
        if dtype.kind != "f":
            raise lines.error(n, f"dtype must be a float dtype, got {dtype}")
    n_layers = None
    n, s = lines.peek()
    if s is not None and s.split()[0] == "layers":
        lines.next("layers")
        parts = s.split()
        if len(parts) != 2:
            raise lines.error(n, f"expected 'layers N', got {s[:60]!r}")
        n_layers = _positive_int(lines, n, parts[1], "the layer count")
    layers = []
    while lines.peek()[0] is not None:
        k = len(layers)
        n, s = lines.next(f"'layer {k} in I out O'")
        parts = s.split()
        if parts[:1] == ["sha256"]:
            raise lines.error(n, "a checksum line can only be the second line of the file")
        if len(parts) not in (6, 8) or parts[0] != "layer" or parts[2] != "in" or \
                parts[4] != "out" or (len(parts) == 8 and parts[6] != "act"):
            raise lines.error(n, f"expected 'layer {k} in I out O' or 'layer {k} in I out O "
                                 f"act NAME', got {s[:60]!r}")
        if parts[1] != str(k):
            raise lines.error(n, f"expected layer number {k}, got {parts[1]!r}")
        d_in = _positive_int(lines, n, parts[3], "in")
        d_out = _positive_int(lines, n, parts[5], "out")
        act = parts[7] if len(parts) == 8 else None
        if act is not None and act not in ACTIVATION_NAMES:
            raise lines.error(n, f"unknown activation {act!r}; known: "
                                 f"{', '.join(ACTIVATION_NAMES)}")
        if layers and layers[-1][0].shape[1] != d_in:
            raise lines.error(n, f"layer {k} takes {d_in} inputs but layer {k - 1} gives "
                                 f"{layers[-1][0].shape[1]} outputs")
        n, s = lines.next("'W'")
        if s != "W":
            raise lines.error(n, f"expected 'W', got {s[:60]!r}")
        rows = [_read_numbers(lines, dtype, d_out, f"row {r} of W of layer {k}")
                for r in range(d_in)]  # each row holds d_out numbers before W is allocated
        W = np.stack(rows)
        del rows
        n, s = lines.next("'b'")
        if s != "b":
            raise lines.error(n, f"expected 'b' after the {d_in} rows of W of layer {k}, "
                                 f"got {s[:60]!r}")
        b = _read_numbers(lines, dtype, d_out, f"b of layer {k}")
        layers.append((W, b, act))
    if not layers:
        raise ValueError(f"{lines.path}: the file has no layers")
    if n_layers is not None and n_layers != len(layers):
        raise ValueError(f"{lines.path}: the header says {n_layers} layers but the file has "
                         f"{len(layers)}")
    return layers


def _is_text_format(raw):
    head = raw[:len(MAGIC) + 3].lstrip(b"\xef\xbb\xbf")
    # a safetensors file starts with a little-endian u64 header size: it has NUL bytes early
    return head == b"" or (head.startswith(b"#") and b"\x00" not in head[:8])
