"""The table of supported functions, generated from the op registry (the docs page
"Differentiating NumPy code" shows it; nothing in it is typed by hand).

>>> from autonn.testing.support import supported_functions
>>> row = supported_functions()["an.exp"]
>>> row["gradient"], row["elementwise"]
(True, True)
"""
import math

from .registry import REGISTRY

_NETWORK_OPS = {"linear", "cross_entropy", "nll_loss", "conv2d", "max_pool2d"}


def _public_name(covered):
    if covered in _NETWORK_OPS:
        return f"an.nn.functional.{covered}"
    return f"an.{covered}"


def supported_functions():
    """``{public name: properties}`` for every function the registry tests: whether it has a
    gradient (checked against finite differences), a tested second derivative, complex inputs,
    whether it is elementwise, and its domain and kinks."""
    rows = {}
    for spec in REGISTRY.values():
        for covered in spec.covers:
            row = rows.setdefault(_public_name(covered), {
                "gradient": False, "second_order": False, "complex": False,
                "elementwise": False, "domain": None, "kinks": set()})
            row["gradient"] |= spec.differentiable
            row["second_order"] |= spec.differentiable and spec.second_order
            row["complex"] |= spec.complex
            row["elementwise"] |= spec.elementwise
            if spec.domain != (-math.inf, math.inf):
                row["domain"] = spec.domain
            row["kinks"] |= set(spec.kinks)
    return dict(sorted(rows.items()))


def _namespace(name):
    return name.rsplit(".", 1)[0]


def _interval(domain):
    lo, hi = domain
    left = "(-inf" if lo == -math.inf else f"({lo:g}"
    right = "inf)" if hi == math.inf else f"{hi:g})"
    return f"{left}, {right}"


def markdown_table():
    """The supported functions as Markdown tables, one per namespace.

    >>> from autonn.testing.support import markdown_table
    >>> "| `an.exp` |" in markdown_table()
    True
    """
    rows = supported_functions()
    yes = "yes"
    lines = [f"{len(rows)} functions, each tested against NumPy/SciPy for its values and against "
             "finite differences for its gradient, its jvp and (where it is not zero) its second "
             "derivative."]
    for ns in sorted({_namespace(n) for n in rows}, key=lambda s: (s.count("."), s)):
        lines += ["", f"### `{ns}`", "",
                  "| function | gradient | 2nd derivative | complex | elementwise | where defined |",
                  "|---|---|---|---|---|---|"]
        for name, row in rows.items():
            if _namespace(name) != ns:
                continue
            where = []
            if row["domain"] is not None:
                where.append(_interval(row["domain"]))
            if row["kinks"]:
                where.append("kinks at " + ", ".join(f"{k:g}" for k in sorted(row["kinks"])))
            lines.append(
                f"| `{name}` | {yes if row['gradient'] else 'none (integer or boolean result)'} "
                f"| {yes if row['second_order'] else '0' if row['gradient'] else '-'} "
                f"| {yes if row['complex'] else '-'} "
                f"| {yes if row['elementwise'] else '-'} | {'; '.join(where) or '-'} |")
    return "\n".join(lines)
