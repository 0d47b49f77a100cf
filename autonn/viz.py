"""``an.viz.draw_graph``: the graph that made a tensor, as Graphviz DOT text or a picture.

Tensors are boxes (shape, dtype, the values of small ones, and ``grad`` once ``backward()`` has
filled it); ops are ellipses named as autonn's functions (``matmul``, ``tanh``, ``sum``, ...).
Rendering a file needs the ``graphviz`` Python package and Graphviz's ``dot`` program
(``pip install 'autonn[viz]'`` and, e.g., ``apt-get install graphviz``); the DOT text needs
neither.

>>> import autonn as an
>>> w = an.tensor([1.0, 2.0], requires_grad=True)
>>> dot = an.viz.draw_graph((w * w).sum(), names={"w": w})
>>> dot.splitlines()[0]
'digraph autonn {'
>>> "mul" in dot and "sum" in dot and "w" in dot
True
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping

import numpy as np

from .tensor import Tensor

__all__ = ["draw_graph"]

#: tensors up to this many elements show their values (and gradients)
MAX_VALUES_SHOWN = 6

# op classes whose autonn function has another name than the class name in snake case
_FUNCTION_NAMES = {"MatMul": "matmul", "GetItem": "getitem", "LogSumExp": "logsumexp",
                   "SoftmaxCrossEntropy": "cross_entropy", "ExpandReduced": "expand",
                   "LinearAct": "linear"}
_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}


def op_label(op):
    """The name of ``op`` as autonn's function that records it (``MatMul`` -> ``matmul``),
    with the constant of a tensor-and-number op (``mul (x * 2.0)``).

    >>> import autonn as an
    >>> x = an.ones(2, requires_grad=True)
    >>> op_label((x @ an.ones((2, 2))).grad_fn), op_label((1 - x).grad_fn)
    ('matmul', 'sub (1 - x)')
    """
    cls = type(op).__name__
    name = op.name
    if name != cls:  # a user Function (its own name) or an op that names itself
        return name
    if cls.endswith("Scalar"):
        base = cls[:-len("Scalar")]
        reflected = base[0] == "R" and base[1:2].isupper()
        base = _snake(base[1:] if reflected else base)
        c = getattr(op, "c", "c")
        expr = f"{c} {_SYMBOLS.get(base, base)} x" if reflected else f"x {_SYMBOLS.get(base, base)} {c}"
        return f"{base} ({expr})"
    label = _FUNCTION_NAMES.get(cls) or _snake(cls)
    act = getattr(op, "act", None)
    if cls == "LinearAct" and act and act != "identity":   # the fused x @ W + b and activation
        label += f" + {act}"
    return label


def _snake(name):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _values(a):
    return np.array2string(np.asarray(a), precision=4, separator=", ", threshold=MAX_VALUES_SHOWN,
                           max_line_width=60)


def _tensor_label(t, name):
    lines = [name] if name else []
    shape = "scalar" if t.data.ndim == 0 else str(t.data.shape)
    lines.append(f"{shape} {t.data.dtype}")
    if t.data.size <= MAX_VALUES_SHOWN:
        lines.append(f"data {_values(t.data)}")
    g = t.grad
    if g is not None:
        g = g.data if isinstance(g, Tensor) else np.asarray(g)
        lines.append(f"grad {_values(g)}" if g.size <= MAX_VALUES_SHOWN else
                     f"grad |max| {float(np.max(np.abs(g))):.4g}")
    return "\n".join(lines)


def _quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(tensor: Tensor, names: Mapping[str, Tensor] | None = None) -> str:
    """The DOT text of the graph that made ``tensor`` (what ``draw_graph(tensor)`` returns)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph: expected a Tensor, got {type(tensor).__name__}")
    labels = {}
    for key, t in (names.items() if names else ()):
        if not isinstance(t, Tensor):
            raise TypeError(f"draw_graph: names[{key!r}] is a {type(t).__name__}, not a Tensor")
        labels[id(t)] = str(key)
    ids: dict[int, str] = {}
    lines = ["digraph autonn {", "  rankdir=LR;",
             '  node [fontname="Helvetica", fontsize=11];',
             '  edge [color="#555555"];']

    def node_id(t):
        if id(t) not in ids:
            ids[id(t)] = f"t{len(ids)}"
        return ids[id(t)]

    stack, seen = [tensor], set()
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        tid = node_id(t)
        name = labels.get(id(t)) or ("output" if t is tensor else "")
        if t._op is None and t.requires_grad:
            style = 'style=filled, fillcolor="#cfe2f3"'   # a leaf that takes a gradient
        elif t._op is None:
            style = 'style=filled, fillcolor="#eeeeee"'   # a constant
        else:
            style = 'style=filled, fillcolor="#fff2cc"' if t is tensor else ""
        lines.append(f"  {tid} [shape=box, label={_quote(_tensor_label(t, name))}"
                     f"{', ' + style if style else ''}];")
        if t._op is None:
            continue
        oid = f"{tid}_op"
        freed = t._parents is None  # dropped by a backward without retain_graph
        label = op_label(t._op) + ("\n(freed by backward)" if freed else "")
        lines.append(f"  {oid} [shape=ellipse, label={_quote(label)}"
                     f"{', style=dashed' if freed else ''}];")
        lines.append(f"  {oid} -> {tid};")
        for p in t._parents or ():
            lines.append(f"  {node_id(p)} -> {oid};")
            stack.append(p)
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw_graph(tensor: Tensor, path: str | os.PathLike[str] | None = None, format: str | None = None,
               names: Mapping[str, Tensor] | None = None) -> str:
    """The graph that made ``tensor``: op names as autonn's (``matmul``, ``tanh``, ``sum``), shapes,
    dtypes, values of small tensors and gradients once they exist.

    With ``path=None`` it returns the Graphviz DOT text (a ``str``). With a path it renders the
    picture there in ``format`` (``"svg"``, ``"png"``, ``"pdf"``, ...; by default the path's
    extension, else ``"svg"``; needs the ``graphviz`` package and Graphviz's ``dot``) and returns
    the path. ``names`` maps labels to tensors
    (``{"w": w}``, or ``dict(model.named_parameters())``). A ``backward()`` without
    ``retain_graph=True`` frees the graph; its nodes are drawn as freed.

    >>> import autonn as an
    >>> x = an.tensor([[1.0, 2.0]]); W = an.ones((2, 3), requires_grad=True)
    >>> print(draw_graph(an.tanh(x @ W)))  # doctest: +ELLIPSIS
    digraph autonn {
    ...
      t0_op [shape=ellipse, label="tanh"];
    ...
    """
    dot = to_dot(tensor, names)
    if path is None:
        return dot
    return render(dot, path, format)


def render(dot: str, path: str | os.PathLike[str], format: str | None = None) -> str:
    """Render DOT text to ``path`` with Graphviz's ``dot``; returns ``path``. ``format=None``
    takes the path's extension when Graphviz knows it (``g.png`` -> PNG), else SVG; a format that
    contradicts the extension is a ValueError (no SVG bytes in a ``.png`` file)."""
    try:
        import graphviz
    except ImportError:
        raise ImportError("draw_graph: rendering a picture needs the graphviz Python package and "
                          "Graphviz's dot program: pip install 'autonn[viz]' (or pip install "
                          "graphviz), and install Graphviz (apt-get install graphviz, brew install "
                          "graphviz, or https://graphviz.org/download/); without a path, "
                          "draw_graph returns the DOT text") from None
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1][1:].lower()
    if format is None:
        format = suffix if suffix in graphviz.FORMATS else "svg"
    elif suffix in graphviz.FORMATS and suffix != str(format).lower():
        raise ValueError(f"draw_graph: format={format!r} but the path {path!r} ends in .{suffix}; "
                         "give one of them (the format defaults to the path's extension)")
    try:
        data = graphviz.Source(dot).pipe(format=format)
    except graphviz.ExecutableNotFound:
        raise RuntimeError("draw_graph: Graphviz's dot program was not found on PATH; install "
                           "Graphviz (apt-get install graphviz, brew install graphviz, or "
                           "https://graphviz.org/download/)") from None
    except ValueError as e:  # an unknown format
        raise ValueError(f"draw_graph: {e}") from None
    with open(path, "wb") as f:
        f.write(data)
    return path
