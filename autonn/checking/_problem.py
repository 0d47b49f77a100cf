"""The function under check: its inputs, its outputs, and cheap re-evaluation on perturbed data.

Numeric differentiation swaps the ``.data`` of the input Tensors for working arrays (in the
evaluation dtype) and calls ``fn`` on the very same Tensor objects, so a function that reaches its
inputs through a closure (a module's parameters) sees the perturbation too. The user's arrays are
never written to; the original ``.data`` is put back on exit.
"""
import numpy as np

from .. import engine
from ..tensor import Tensor
from ._parts import flat_real, is_complex, real_size, real_view

FLOATING = "fc"  # the dtype kinds that are checked (complex ones as their real and imaginary parts)


def as_outputs(result, where="fn"):
    """``fn``'s result as a list of Tensors (a Tensor, or a tuple/list of Tensors; None skipped)."""
    seq = result if isinstance(result, (tuple, list)) else (result,)
    outs = []
    for k, o in enumerate(seq):
        if o is None:
            continue
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: {where} must return a Tensor or a tuple of Tensors; "
                            f"output {k} is {type(o).__name__}")
        outs.append(o)
    return outs


class Problem:
    """``fn`` with its ``inputs``; ``diff`` lists the positions of inputs that require grad."""

    def __init__(self, fn, inputs, input_names=None, output_names=None):
        if isinstance(inputs, Tensor) or not isinstance(inputs, (tuple, list)):
            inputs = (inputs,)
        self.fn = fn
        self.inputs = tuple(inputs)
        self.diff = [i for i, x in enumerate(self.inputs)
                     if isinstance(x, Tensor) and x.requires_grad]
        for i in self.diff:
            if self.inputs[i].dtype.kind not in FLOATING:
                raise TypeError(f"gradcheck: input {i} requires grad but has dtype "
                                f"{self.inputs[i].dtype}")
        self.input_names = input_names or [f"input {i}" for i in range(len(self.inputs))]
        self._output_names = output_names

    def output_name(self, k):
        return self._output_names[k] if self._output_names else f"output {k}"

    def run_graph(self):
        """fn(*inputs) with grad enabled: the checked (floating) outputs, with their graph."""
        with engine.enable_grad():
            outs = as_outputs(self.fn(*self.inputs))
        self.all_outputs = outs
        self.checked = [k for k, o in enumerate(outs) if o.dtype.kind in FLOATING]
        self.out_shapes = [outs[k].shape for k in self.checked]
        self.out_complex = [is_complex(outs[k].dtype) for k in self.checked]
        sizes = [real_size(outs[k].shape, outs[k].dtype) for k in self.checked]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        return [outs[k] for k in self.checked]

    def out_slice(self, k):
        """Rows of the flat output vector that belong to checked output number ``k`` (a complex
        output has two per element: its real and imaginary parts, interleaved)."""
        return slice(self.offsets[k], self.offsets[k + 1])


class Swapped:
    """Context: the differentiable inputs hold working copies in ``eval_dtypes``; calling the
    object evaluates fn (without grad) into one flat vector of the checked outputs in ``acc``.

    ``works[p]`` is the working array of ``problem.diff[p]``; the same Tensor passed twice shares
    one working array (its derivative is then the total one, as the analytic side gives).
    ``real_works[p]`` is its real view (``_parts.real_view``): what the finite differences perturb.
    """

    def __init__(self, problem, eval_dtypes, acc):
        self.problem, self.acc = problem, acc
        by_id = {}
        self.works = []
        for p, i in enumerate(problem.diff):
            t = problem.inputs[i]
            if id(t) not in by_id:
                by_id[id(t)] = np.array(t.data, dtype=eval_dtypes[p], copy=True)
            self.works.append(by_id[id(t)])
        self.real_works = [real_view(w) for w in self.works]
        self._tensors = [problem.inputs[i] for i in problem.diff]

    def __enter__(self):
        self._saved = [t.data for t in self._tensors]
        for t, w in zip(self._tensors, self.works):
            t.data = w
        return self

    def __exit__(self, *exc):
        for t, d in zip(self._tensors, self._saved):
            t.data = d
        return False

    def outputs(self):
        """fn at the working arrays, without grad: its floating outputs (Tensors)."""
        pr = self.problem
        with engine.no_grad():
            outs = as_outputs(pr.fn(*pr.inputs))
        floats = [o for o in outs if o.dtype.kind in FLOATING]
        if len(outs) != len(pr.all_outputs) or [o.shape for o in floats] != pr.out_shapes:
            raise RuntimeError("gradcheck: fn returned outputs of different number or shapes "
                               "when its inputs were perturbed")
        if [is_complex(o.dtype) for o in floats] != pr.out_complex:
            raise RuntimeError("gradcheck: fn returned a real output where it had returned a "
                               "complex one (or the reverse) when its inputs were perturbed")
        return floats

    def __call__(self):
        floats = self.outputs()
        if not floats:
            return np.zeros(0, dtype=self.acc)
        return np.concatenate([flat_real(o.data, self.acc) for o in floats])


class AsLeaves:
    """Context: the differentiable inputs act as leaves (their own graph links are set aside and
    put back on exit), so derivatives are taken with respect to each input as an independent
    variable, as the finite differences perturb them, even when one input was computed from
    another; and the graph upstream of the inputs is neither walked nor freed."""

    def __init__(self, problem):
        seen, self._tensors = set(), []
        for i in problem.diff:
            t = problem.inputs[i]
            if id(t) not in seen:
                seen.add(id(t))
                self._tensors.append(t)

    def __enter__(self):
        self._saved = [(t._op, t._parents) for t in self._tensors]
        for t in self._tensors:
            t._op, t._parents = None, ()
        return self

    def __exit__(self, *exc):
        for t, (op, parents) in zip(self._tensors, self._saved):
            t._op, t._parents = op, parents
        return False
