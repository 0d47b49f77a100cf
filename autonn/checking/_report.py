"""What a check found, as data (``GradcheckReport``) and as the message of ``GradcheckError``."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._parts import WORDS, label


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck``/``gradgradcheck`` when analytic and numeric derivatives disagree;
    ``.report`` holds the ``GradcheckReport``."""

    def __init__(self, message: str, report: GradcheckReport | None = None) -> None:
        super().__init__(message)
        self.report = report


GradcheckError.__module__ = "autonn"


class GradcheckWarning(UserWarning):
    """Issued when a check passes but found non-differentiable points (left out of it)."""


def _idx(index):
    return "()" if index is None or index == () else str(tuple(int(i) for i in index))


def _at(name, index, part=None):
    """``output 0[1, 2]`` (``output 0`` for a scalar), and ``output 0[1, 2] (imaginary part)``
    for a part of a complex element."""
    at = name if index is None or index == () else \
        f"{name}[{', '.join(str(int(i)) for i in index)}]"
    return label(at, part)


def _num(v):
    return "n/a" if v is None else f"{float(v):.9g}"


@dataclass
class PairReport:
    """One Jacobian block: d(output) / d(input), in one mode ('reverse', 'forward')."""
    input: int
    output: int
    input_name: str
    output_name: str
    mode: str
    passed: bool
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple | None          # 0-based multi-index into the input
    worst_output_index: tuple | None   # 0-based multi-index into the output
    analytic: float | None
    numeric: float | None
    allowed: float | None              # atol + rtol * |numeric| at the worst element
    mismatches: int = 0
    size: int = 0
    projected: bool = False               # fast mode: values are v^T J u, not elements
    analytic_jacobian: np.ndarray | None = field(default=None, repr=False)
    numeric_jacobian: np.ndarray | None = field(default=None, repr=False)
    input_part: str | None = None      # 'real'/'imag' for a complex input, else None
    output_part: str | None = None     # 'real'/'imag' for a complex output, else None
    note: str = ""                        # what the block means, when unusual

    @property
    def input_label(self):
        """``input 0``, or ``input 0 (imaginary part)`` for a part of a complex input."""
        return label(self.input_name, self.input_part)

    @property
    def output_label(self):
        return label(self.output_name, self.output_part)


@dataclass
class InputReport:
    """The check of one input, over all outputs (its worst element).

    ``analytic``/``numeric`` are the two values at the worst element; the full blocks are in
    ``pairs[k].analytic_jacobian`` / ``numeric_jacobian`` (shaped ``output.shape + input.shape``).
    """
    position: int
    name: str
    shape: tuple | None
    dtype: np.dtype | None
    checked: bool                          # False: not a Tensor, or does not require grad
    passed: bool = True
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    worst_index: tuple | None = None
    worst_output: int | None = None
    worst_output_index: tuple | None = None
    analytic: float | None = None
    numeric: float | None = None
    allowed: float | None = None
    projected: bool = False
    nondifferentiable: list = field(default_factory=list)   # multi-indices into this input
    pairs: list = field(default_factory=list, repr=False)
    worst_part: str | None = None         # complex input: 'real'/'imag' of the worst element
    worst_output_part: str | None = None  # complex output: the same for the output


@dataclass(frozen=True)
class Kink:
    """A point where the function is not differentiable: the one-sided derivatives differ."""
    input: int
    index: tuple
    output: int
    output_index: tuple
    left: float
    right: float
    analytic: float
    input_name: str = ""
    output_name: str = ""
    part: str | None = None         # 'real'/'imag' when the input is complex
    output_part: str | None = None  # 'real'/'imag' when the output is complex

    def __str__(self):
        name = label(self.input_name or f"input {self.input}", self.part)
        out = self.output_name or f"output {self.output}"
        return (f"non-differentiable at index {_idx(self.index)} of {name} "
                f"(d {_at(out, self.output_index, self.output_part)}: "
                f"left derivative {_num(self.left)}, right derivative {_num(self.right)}, "
                f"analytic {_num(self.analytic)})")


@dataclass(frozen=True)
class DomainEdge:
    """An element where ``x +- h`` left fn's domain (an output finite at ``x`` was not at the
    perturbed point): the step was adapted, and this is not a mismatch. ``method``: 'central'
    (a smaller step ``step``, extrapolated from h and h/2), 'forward'/'backward' (one-sided, the
    other side never got inside), 'none' (no finite value on either side; left out of the
    comparison). ``index`` is None for fast mode's random direction."""
    input: int
    index: tuple | None
    method: str
    step: float
    first_step: float
    input_name: str = ""
    part: str | None = None   # 'real'/'imag' when the input is complex

    def __str__(self):
        name = label(self.input_name or f"input {self.input}", self.part)
        where = (f"along the random direction of {name}" if self.index is None
                 else f"at index {_idx(self.index)} of {name}")
        head = f"{where}: x +- {self.first_step:.3g} leaves fn's domain"
        if self.method == "central":
            return f"{head}; central difference with the smaller step {self.step:.3g}"
        if self.method in ("forward", "backward"):
            return (f"{head} on the {'left' if self.method == 'forward' else 'right'} at every "
                    f"step; one-sided ({self.method}) difference with step {self.step:.3g}")
        return (f"{head} on both sides at every step down to rounding; left out of the "
                "comparison")


_RULES = {"vjp": "vjp", "jvp": "jvp (forward mode)",
          "second": "second derivative (its vjp differentiated again):"}


@dataclass
class Culprit:
    """The first op (in creation order) whose own rule disagrees with its own finite differences.
    ``rule`` says which: 'vjp' (reverse mode), 'jvp' (forward mode) or 'second' (the second
    derivative: its vjp differentiated again, checked by gradgradcheck of the op alone)."""
    op: str                  # the op's class name
    name: str                # the op's display name (a Function's class name)
    location: str            # file:line of user code that created it
    argument: int            # which of the op's inputs (for 'second': its inputs, then the
    #                          incoming gradient)
    worst_index: tuple
    output_index: tuple
    analytic: float
    numeric: float
    max_abs_error: float
    checked_ops: int = 0     # ops checked before (and including) this one
    rule: str = "vjp"
    argument_name: str = ""
    output_name: str = ""    # for 'second': which of the op's gradients is wrong
    part: str | None = None          # 'real'/'imag' of a complex argument
    output_part: str | None = None   # 'real'/'imag' of a complex output

    def __str__(self):
        rule = _RULES.get(self.rule, self.rule)
        arg = label(self.argument_name or f"argument {self.argument}", self.part)
        if self.output_name:  # the second derivative: which gradient, w.r.t. what
            grad = label(self.output_name.replace('input', 'argument'), self.output_part)
            what = f"d({grad}) / d(its {arg})"
        else:
            what = f"w.r.t. its {arg}"
        head = f"{self.name} created at {self.location}: its {rule} {what} disagrees with its " \
               "own finite differences"
        if self.worst_index is None:
            return (f"{head} (random projection v^T J u: analytic {_num(self.analytic)} vs "
                    f"numeric {_num(self.numeric)})")
        out = _idx(self.output_index)
        if self.output_part and not self.output_name:
            out += f", {WORDS[self.output_part]}"
        return (f"{head} at index {_idx(self.worst_index)} (output index {out}): analytic "
                f"{_num(self.analytic)} vs numeric {_num(self.numeric)}")


@dataclass
class GradcheckReport:
    """Everything a check found. ``passed``; ``inputs`` (one ``InputReport`` per input);
    ``culprit``; ``nondifferentiable`` (``Kink`` list); ``forward`` (the forward-mode check, when
    asked); ``problems`` (other reasons for failure, e.g. nondeterminism); the tolerances used."""
    passed: bool
    inputs: list
    culprit: Culprit | None = None
    nondifferentiable: list = field(default_factory=list)
    forward: list | None = None
    problems: list = field(default_factory=list)
    atol: float = 0.0
    rtol: float = 0.0
    step: str = ""
    order: int = 1
    fast_mode: bool = False
    recomputed_full: bool = False
    fast_note: str = ""
    nondeterminism: float = 0.0
    evaluations: int = 0
    domain_edges: list = field(default_factory=list)   # DomainEdge list
    searched: str = ""    # the rules the culprit search checked, when it ran
    notes: list = field(default_factory=list)          # how the check was done, when unusual

    @property
    def pairs(self):
        out = [p for r in self.inputs for p in r.pairs]
        if self.forward:
            out += [p for r in self.forward for p in r.pairs]
        return out

    def message(self):
        what = "gradgradcheck" if self.order == 2 else "gradcheck"
        tol = f"tolerances: atol={self.atol:.3g}, rtol={self.rtol:.3g} per element " \
              f"(|analytic - numeric| <= atol + rtol*|numeric|); {self.step}"
        if self.passed:
            lines = [f"{what} passed ({sum(r.checked for r in self.inputs)} inputs checked"
                     f"{', fast mode' if self.fast_mode and not self.recomputed_full else ''})."]
        else:
            lines = [f"{what} failed."]
        failing = sorted((p for p in self.pairs if not p.passed),
                         key=lambda p: -(p.max_abs_error / p.allowed if p.allowed else np.inf))
        for n, p in enumerate(failing[:6]):
            lines += _pair_lines(p) if n == 0 else [
                f"  also: {p.output_label} w.r.t. {p.input_label} ({p.mode} mode): worst index "
                f"{_idx(p.worst_index)} of {p.input_label}, output index "
                f"{_idx(p.worst_output_index)}, analytic {_num(p.analytic)} vs numeric "
                f"{_num(p.numeric)} (max abs error {p.max_abs_error:.3g})"]
        if len(failing) > 6:
            lines.append(f"  ... and {len(failing) - 6} more mismatching blocks")
        lines += [f"  {p}" for p in self.problems]
        if not self.passed and self.culprit is not None:
            lines.append(f"  culprit: {self.culprit}")
        elif not self.passed and failing:
            lines.append(f"  culprit: none found (every op's own {self.searched or 'vjp'} agrees "
                         "with its finite differences; look at how fn combines them, or at "
                         "non-determinism)")
        lines += _first_few(self.nondifferentiable,
                            "non-differentiable point(s), left out of the comparison:")
        lines += _first_few(self.domain_edges, "point(s) where the step left fn's domain "
                            "(not a mismatch; the step was adapted):")
        lines += [f"  {n}" for n in self.notes]
        if self.fast_note:
            lines.append(f"  {self.fast_note}")
        lines.append(f"  {tol}")
        return "\n".join(lines)

    __str__ = message


def _pair_lines(p):
    head = (f"  {p.output_label} w.r.t. {p.input_label} ({p.mode} mode): analytic and numeric "
            f"derivatives disagree.")
    if p.note:
        head += f" {p.note}"
    err = abs(float(p.analytic) - float(p.numeric))
    if p.projected:
        return [head, f"    random projection v^T J u: analytic {_num(p.analytic)}, numeric "
                      f"{_num(p.numeric)}, error {err:.3g} > allowed {p.allowed:.3g}"]
    rel = err / max(abs(float(p.numeric)), 1e-300)
    return [
        head,
        f"    worst element: d {_at(p.output_name, p.worst_output_index, p.output_part)} / d "
        f"{_at(p.input_name, p.worst_index, p.input_part)} (0-based; index "
        f"{_idx(p.worst_index)} of {p.input_label})",
        f"    analytic: {_num(p.analytic)}",
        f"    numeric:  {_num(p.numeric)}",
        f"    error: abs {err:.3g}, rel {rel:.3g} > allowed atol + rtol*|numeric| = "
        f"{p.allowed:.3g}",
        f"    {p.mismatches} of {p.size} elements of this block mismatch (max abs error "
        f"{p.max_abs_error:.3g}, max rel error {p.max_rel_error:.3g})",
    ]


def _first_few(items, what, shown=5):
    """``N what`` and the first ``shown`` items (with how many more), or nothing."""
    if not items:
        return []
    lines = [f"  {len(items)} {what}"] + [f"    {k}" for k in items[:shown]]
    if len(items) > shown:
        lines.append(f"    ... and {len(items) - shown} more")
    return lines
