"""Mutation testing of the gradient checker itself.

For every registered op we build deliberately wrong gradients *without touching the op*: the op
runs inside a user ``an.Function`` whose forward is the op's own forward and whose backward calls
the op's true vjp (through ``an.grad``) and then damages the result. What each mutation models:

* ``scale``     every input's gradient multiplied by 1 + 1e-3 (a slightly wrong constant).
* ``sign[i]``   the gradient of input ``i`` negated (a sign error in one input's rule).
* ``broadcast`` for an input that the op broadcasts (the operands of the ops with two or
                more inputs that the registry declares elementwise, as ``mul`` and ``where``,
                ``broadcast_to``'s input, ``matmul``'s broadcast batch dimensions, the bias of
                ``linear``/``conv2d``), the gradient divided by the number of copies it was
                broadcast to: the *mean* over the broadcast axes instead of their sum. (A rule that
                returns the un-reduced gradient cannot be emulated as such, because the engine sums
                broadcast axes back itself; averaging is the bug of reducing them wrongly.)
* ``index``     an off-by-one index. For gather-type ops (``getitem``, ``concatenate``, ``stack``,
                ``split``, ``pad``) the backward reads the incoming gradient one position further
                along the indexed axis (``np.roll(g, 1, axis)``), i.e. the index map is off by one.
                For ops that route the gradient to an index (``max``/``min``/``max_pool2d``: the
                winner; ``nll_loss``/``cross_entropy``: the target class) the input gradient lands
                one position further along that axis.

A mutant is *applicable* to an op when its kind makes sense for it (else n/a, not counted as a
kill) and *exercised* on a drawn input when it changes some Jacobian element by more than the
float64 tolerance that gradcheck promises to accept (``|J_mut - J| > atol + rtol*|J|``): a mutant
that never is, on any input drawn, is reported as *equivalent* (e.g. scaling a gradient that is
all zeros). A mutant is *killed* when gradcheck fails, with an analytic/numeric mismatch, on every
input that exercises it, in full mode and in fast mode.

Run ``python autonn_tests/test_gradcheck_mutations.py`` for the kill-rate table.
"""
import numpy as np
import pytest

import autonn as an
from autonn.checking import TOLERANCES, gradcheck_report
from autonn.gradcheck_cli import draw_cases
from autonn.testing.registry import REGISTRY

NAMES = sorted(n for n in REGISTRY if REGISTRY[n].differentiable
               and not REGISTRY[n].zero_gradient)  # a zero gradient has no mutant to catch
SCALE = 1 + 1e-3
GATHER = {"getitem", "concatenate", "stack", "split", "pad"}
ROUTING = {"max", "min", "max_pool2d", "nll_loss", "cross_entropy"}
ATOL, RTOL = TOLERANCES["float64"]
MAX_DRAWS = 30       # inputs drawn per op while looking for ones that exercise every mutant
PER_MUTANT = 2       # exercising inputs checked per mutant (and mode)


def _broadcast_factors(name, arrays, kwargs, out_shape):
    """For each input, into how many output copies the op broadcasts each element (1: none);
    None when the op does not broadcast its inputs."""
    out_size = int(np.prod(out_shape))
    if REGISTRY[name].elementwise or name == "broadcast_to":
        return [out_size // max(a.size, 1) for a in arrays]
    if name.startswith("linear[") or name == "conv2d":  # the bias, over rows (and pixels)
        return [1, 1, out_size // max(arrays[2].size, 1)]
    if name == "matmul":
        a, b = arrays
        batch = np.broadcast_shapes(a.shape[:-2] if a.ndim > 1 else (),
                                    b.shape[:-2] if b.ndim > 1 else ())
        return [int(np.prod(batch)) // int(np.prod(x.shape[:-2] if x.ndim > 1 else ()))
                for x in arrays]
    return None


def _first_long_axis(shape, preferred=None):
    if preferred is not None and len(shape):
        for ax in np.atleast_1d(preferred):
            ax = int(ax) % len(shape)
            if shape[ax] > 1:
                return ax
    for ax, n in enumerate(shape):
        if n > 1:
            return ax
    return None


def _index_axis(name, arrays, kwargs, out_shape):
    """(side, axis): where the off-by-one index shifts the gradient ('out' or 'in')."""
    if name in GATHER:
        pref = kwargs.get("axis") if name in ("concatenate", "stack") else None
        return "out", _first_long_axis(out_shape, pref)
    if name in ("nll_loss", "cross_entropy"):
        return "in", 1 if arrays[0].ndim > 1 and arrays[0].shape[1] > 1 else None
    if name == "max_pool2d":
        return "in", _first_long_axis(arrays[0].shape, (3, 2))
    if name in ("max", "min"):
        ax = kwargs.get("axis")
        return "in", _first_long_axis(arrays[0].shape, range(arrays[0].ndim) if ax is None else ax)
    return None


def _true_grads(spec, arrays, kwargs, g):
    xs = [an.tensor(a, requires_grad=True) for a in arrays]
    with an.enable_grad():
        out = spec.fn(*xs, **kwargs)
        gs = an.grad(out, xs, an.tensor(g), allow_unused=True)
    return [np.zeros(a.shape) if gi is None else np.array(gi.data, dtype=np.float64)
            for gi, a in zip(gs, arrays)]


def make_mutant(name, kwargs, label):
    """fn(*tensors) running op ``name`` with gradient mutation ``label`` (None: no mutation)."""
    spec = REGISTRY[name]
    kind = None if label is None else label.split("[")[0]

    class Mutant(an.Function):
        @staticmethod
        def forward(ctx, *arrays):
            ctx.arrays = [np.array(a, copy=True) for a in arrays]
            out = spec.fn(*[an.tensor(a) for a in arrays], **kwargs)
            ctx.out_shape = out.shape
            return out.data

        @staticmethod
        def backward(ctx, g):
            arrays, gd = ctx.arrays, np.array(g.data, dtype=np.float64)
            where = _index_axis(name, arrays, kwargs, ctx.out_shape) if kind == "index" else None
            if where and where[0] == "out":
                gd = np.roll(gd, 1, axis=where[1])
            grads = _true_grads(spec, arrays, kwargs, gd)
            if kind == "scale":
                grads = [gi * SCALE for gi in grads]
            elif kind == "sign":
                i = int(label[5:-1])
                grads[i] = -grads[i]
            elif kind == "broadcast":
                k = _broadcast_factors(name, arrays, kwargs, ctx.out_shape)
                grads = [gi / ki for gi, ki in zip(grads, k)]
            elif where and where[0] == "in":
                grads = [np.roll(gi, 1, axis=where[1]) for gi in grads]
            return tuple(grads)

    Mutant.__name__ = f"{name}:{label}"
    return lambda *ts: Mutant.apply(*ts)


def applicable(name, max_arity):
    labels = ["scale"] + [f"sign[{i}]" for i in range(min(max_arity, 3))]
    if (REGISTRY[name].elementwise and max_arity > 1) or \
            name in ("broadcast_to", "matmul", "conv2d") or name.startswith("linear["):
        labels.append("broadcast")
    if name in GATHER or name in ROUTING:
        labels.append("index")
    return labels


def _jacobian(fn, arrays):
    xs = [an.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*xs)
    rows = []
    for j in range(out.size):
        e = np.zeros(out.size)
        e[j] = 1
        gs = an.grad(out, xs, an.tensor(e.reshape(out.shape)), retain_graph=True,
                     allow_unused=True)
        rows.append(np.concatenate([np.zeros(x.size) if g is None else g.data.ravel()
                                    for g, x in zip(gs, xs)]))
    return np.array(rows)


def _exercised(name, case, label, J_true):
    J = _jacobian(make_mutant(name, case.kwargs, label), case.arrays)
    return bool(np.any(np.abs(J - J_true) > ATOL + RTOL * np.abs(J_true)))


def _caught(name, case, label, fast):
    xs = tuple(an.tensor(a, requires_grad=True) for a in case.arrays)
    rep = gradcheck_report(make_mutant(name, case.kwargs, label), xs, fast_mode=fast,
                           culprit=False)
    return any(not p.passed for p in rep.pairs), rep


def run_op(name, seed=0):
    """Mutation results for one op: {label: status} with status 'killed', 'survived: ...',
    'equivalent' ('n/a' labels are simply absent), and the number of inputs drawn."""
    spec = REGISTRY[name]
    cases = draw_cases(spec.cases(np.float64), MAX_DRAWS, seed)
    arity = max(len(c.arrays) for c in cases)
    labels = applicable(name, arity)
    hits = {lab: 0 for lab in labels}
    status = {}
    for case in cases:
        if all(h >= PER_MUTANT for h in hits.values()):
            break
        xs = tuple(an.tensor(a, requires_grad=True) for a in case.arrays)
        control = gradcheck_report(make_mutant(name, case.kwargs, None), xs, culprit=False)
        assert control.passed, f"{name}: the unmutated wrapper fails:\n{control.message()}"
        J_true = _jacobian(make_mutant(name, case.kwargs, None), case.arrays)
        for lab in labels:
            if hits[lab] >= PER_MUTANT or status.get(lab, "").startswith("survived"):
                continue
            if lab.startswith("sign[") and int(lab[5:-1]) >= len(case.arrays):
                continue
            if not _exercised(name, case, lab, J_true):
                continue
            hits[lab] += 1
            for fast in (False, True):
                caught, rep = _caught(name, case, lab, fast)
                if not caught:
                    status[lab] = (f"survived ({'fast' if fast else 'full'} mode) on "
                                   f"{case}:\n{rep.message()}")
                    break
            else:
                status.setdefault(lab, "killed")
    for lab in labels:
        status.setdefault(lab, "killed" if hits[lab] else "equivalent")
    return status


@pytest.mark.parametrize("name", NAMES)
def test_every_mutant_is_caught(name):
    status = run_op(name)
    survived = {k: v for k, v in status.items() if v.startswith("survived")}
    assert not survived, f"{name}: mutants not caught: {survived}"
    assert status.get("scale") == "killed"


def summary(names=NAMES):
    """Kill rate per mutation kind over ``names``: {kind: [killed, survived, equivalent, n/a]}."""
    kinds = ("scale", "sign", "broadcast", "index")
    table = {k: [0, 0, 0, 0] for k in kinds}
    for name in names:
        status = run_op(name)
        for kind in kinds:
            labs = [lab for lab in status if lab.split("[")[0] == kind]
            if not labs:
                table[kind][3] += 1
            for lab in labs:
                s = status[lab]
                table[kind][0 if s == "killed" else 2 if s == "equivalent" else 1] += 1
    return table


if __name__ == "__main__":
    import time
    t0 = time.perf_counter()
    table = summary()
    print(f"{'kind':<10} {'killed':>7} {'survived':>9} {'equivalent':>11} {'n/a (ops)':>10}  "
          "kill rate")
    total_k = total_s = 0
    for kind, (k, s, e, na) in table.items():
        total_k, total_s = total_k + k, total_s + s
        print(f"{kind:<10} {k:>7} {s:>9} {e:>11} {na:>10}  {k / max(k + s, 1):.1%}")
    print(f"all: {total_k}/{total_k + total_s} exercised mutants killed "
          f"({total_k / max(total_k + total_s, 1):.1%}) over {len(NAMES)} ops in "
          f"{time.perf_counter() - t0:.1f} s")
