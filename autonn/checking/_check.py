"""The checks: ``gradcheck_report`` (and the raising ``gradcheck``), and ``gradgradcheck``."""
import warnings

import numpy as np

from .. import engine
from ..tensor import Tensor
from . import _analytic, _fast, _tolerances, _widen
from ._compare import Block
from ._culprit import find_culprit
from ._numeric import Differ
from ._parts import (
    flat_real,
    is_complex,
    part_indices,
    real_dtype,
    real_size,
    split_index,
)
from ._problem import FLOATING, AsLeaves, Problem, Swapped, as_outputs
from ._report import (
    DomainEdge,
    GradcheckError,
    GradcheckReport,
    GradcheckWarning,
    InputReport,
    Kink,
    PairReport,
)

_WIDE = np.dtype(np.longdouble)


def _settings(problem, outputs, eps, atol, rtol, numeric_dtype, richardson):
    xs = [problem.inputs[i] for i in problem.diff]
    eval_dtypes, widened, note = _widen.numeric_dtypes(problem, outputs, xs, numeric_dtype)
    if widened:
        d_atol, d_rtol = _tolerances.WIDENED["float32"]
    else:
        d_atol, d_rtol = _tolerances.default_tolerances([x.dtype for x in xs] +
                                                        [o.dtype for o in outputs])
    atol = d_atol if atol is None else float(atol)
    rtol = d_rtol if rtol is None else float(rtol)
    wide = any(real_dtype(d) == _WIDE and _tolerances._LONGDOUBLE_IS_WIDER for d in eval_dtypes)
    acc = np.longdouble if wide else np.float64
    ev = _tolerances.least_precise(eval_dtypes)
    method = "central differences with Richardson extrapolation" if richardson else \
        "central differences"
    if eps is None:
        c = _tolerances.base_step(ev, richardson)
        step = (f"step 2**{int(np.log2(c))} ({c:.2g}) * max(|x|, 1) per element, {method}, "
                f"evaluated in {ev.name}")
    else:
        step = f"step {float(eps):.3g} * max(|x|, 1) per element, {method}, evaluated in {ev.name}"
    if widened:
        step += (" (fn also runs in float64: the numeric side of its float32 inputs comes from "
                 "float64 evaluations at the same points; the tolerances cover float32 rounding "
                 "of the analytic side)")
    return xs, atol, rtol, eval_dtypes, acc, step, note


def _input_reports(problem):
    reps = []
    for i, x in enumerate(problem.inputs):
        is_t = isinstance(x, Tensor)
        reps.append(InputReport(position=i, name=problem.input_names[i],
                                shape=x.shape if is_t else None, dtype=x.dtype if is_t else None,
                                checked=i in problem.diff))
    return reps


def _fold(reports, pairs):
    """Aggregate pair results into the per-input reports (worst over outputs)."""
    for pr in pairs:
        r = reports[pr.input]
        r.pairs.append(pr)
        r.passed &= pr.passed
        r.max_abs_error = max(r.max_abs_error, pr.max_abs_error)
        r.max_rel_error = max(r.max_rel_error, pr.max_rel_error)
        mine = (abs(pr.analytic - pr.numeric) / pr.allowed) if pr.allowed else 0.0
        best = (abs(r.analytic - r.numeric) / r.allowed) if r.allowed else -1.0
        if r.analytic is None or mine > best:
            r.worst_index, r.worst_output = pr.worst_index, pr.output
            r.worst_output_index = pr.worst_output_index
            r.worst_part, r.worst_output_part = pr.input_part, pr.output_part
            r.analytic, r.numeric, r.allowed = pr.analytic, pr.numeric, pr.allowed
            r.projected = pr.projected
    return reports


def _block_pair(problem, p, k, x, out, block, start, o_part, rows, i_part, cols, mode, note=""):
    """The PairReport of the rows ``rows`` (of the block; output ``k`` starts at row ``start``)
    and the columns ``cols`` of input ``p``: one part of a complex output w.r.t. one part of a
    complex input (the whole block for real ones)."""
    i = problem.diff[p]
    ok, max_abs, max_rel, r, c, bad = block.rows(rows, cols)
    if r is None:
        worst = oidx = None
        a = n = allowed = 0.0
    else:
        worst = split_index(c, x.shape, x.dtype)[0]
        oidx = split_index(r - start, out.shape, out.dtype)[0]
        a, n = float(block.A[r, c]), float(block.N[r, c])
        allowed = block.allowed_at(r, c)
    at = np.ix_(rows, cols)
    return PairReport(
        input=i, output=k, input_name=problem.input_names[i],
        output_name=problem.output_name(problem.checked[k]), mode=mode, passed=ok,
        max_abs_error=max_abs, max_rel_error=max_rel, worst_index=worst, worst_output_index=oidx,
        analytic=a, numeric=n, allowed=allowed, mismatches=bad, size=out.size * x.size,
        analytic_jacobian=block.A[at].reshape(out.shape + x.shape),
        numeric_jacobian=block.N[at].reshape(out.shape + x.shape), input_part=i_part,
        output_part=o_part, note=note)


_STRAY = ("The output is real, but its forward-mode tangent has an imaginary part (a jvp that "
          "misses a real-part projection?).")


def _full_pairs(problem, outputs, xs, blocks, numeric, differ, atol, rtol, mode, stray=None):
    """PairReports and Kinks for analytic ``blocks`` against the numeric quotients: one
    PairReport per output and input, or per part of them when they are complex. ``stray``
    (forward mode): the imaginary parts of real outputs' tangents, compared with zero."""
    pairs, kinks = [], []
    for p, x in enumerate(xs):
        i = problem.diff[p]
        A = np.vstack([blocks[k][p] for k in range(len(outputs))]) if outputs else \
            np.zeros((0, real_size(x.shape, x.dtype)))
        block = Block(A, numeric[p], differ, p, atol, rtol)
        in_parts = part_indices(x.shape, x.dtype)
        for k, out in enumerate(outputs):
            sl = problem.out_slice(k)
            for o_part, o_rows in part_indices(out.shape, out.dtype):
                for i_part, cols in in_parts:
                    pairs.append(_block_pair(problem, p, k, x, out, block, sl.start, o_part,
                                             sl.start + o_rows, i_part, cols, mode))
            if stray is not None and stray[k][p] is not None:
                zero = np.zeros_like(stray[k][p])
                sb = Block(stray[k][p], (zero, zero, zero), None, p, atol, rtol)
                for i_part, cols in in_parts:
                    pairs.append(_block_pair(problem, p, k, x, out, sb, 0, "imag",
                                             np.arange(out.size), i_part, cols, mode, _STRAY))
            for rr, cc in zip(*np.nonzero(block.kink[sl])):
                index, part = split_index(cc, x.shape, x.dtype)
                oindex, opart = split_index(rr, out.shape, out.dtype)
                kinks.append(Kink(
                    input=i, index=index, output=k, output_index=oindex,
                    left=float(block.left[sl][rr, cc]), right=float(block.right[sl][rr, cc]),
                    analytic=float(block.A[sl][rr, cc]), input_name=problem.input_names[i],
                    output_name=problem.output_name(problem.checked[k]), part=part,
                    output_part=opart))
    return pairs, kinks


def _check_forward_determinism(problem, outputs, f0, eval_dtypes, xs, atol, rtol):
    if any(d != x.dtype for d, x in zip(eval_dtypes, xs)) or not outputs:
        return None
    ref = np.concatenate([flat_real(o.data, f0.dtype) for o in outputs])
    diff = np.abs(ref - f0)
    ok = (diff <= atol + rtol * np.abs(ref)) | (np.isnan(ref) & np.isnan(f0))
    if ok.all():
        return None
    return (f"fn is not deterministic: two evaluations at the same inputs differ by up to "
            f"{np.nanmax(diff):.3g}; seed random ops inside fn (finite differences of a random "
            "function are meaningless)")


def _run_full(problem, outputs, xs, swapped, atol, rtol, eps, richardson, nondet_tol,
              check_forward_ad, acc, eval_dtypes, report):
    blocks = _analytic.reverse_jacobian(outputs, xs, acc)
    again = _analytic.reverse_jacobian(outputs, xs, acc)
    report.nondeterminism = _analytic.max_difference(blocks, again)
    differ = Differ(swapped, swapped.real_works, acc, eps, richardson)
    numeric = [differ.jacobian(p) for p in range(len(xs))]
    pairs, kinks = _full_pairs(problem, outputs, xs, blocks, numeric, differ, atol, rtol,
                               "reverse")
    fwd_pairs = []
    if check_forward_ad:
        fblocks, stray = _analytic.forward_jacobian(outputs, xs, acc)
        fwd_pairs, fkinks = _full_pairs(problem, outputs, xs, fblocks, numeric, differ, atol,
                                        rtol, "forward", stray)
        seen = {(k.input, k.index, k.output, k.output_index) for k in kinks}
        kinks += [k for k in fkinks if (k.input, k.index, k.output, k.output_index) not in seen]
    report.evaluations += differ.evaluations
    report.domain_edges += [
        DomainEdge(input=problem.diff[p], input_name=problem.input_names[problem.diff[p]],
                   index=split_index(e, xs[p].shape, xs[p].dtype)[0],
                   part=split_index(e, xs[p].shape, xs[p].dtype)[1],
                   method=edge.method, step=float(edge.step), first_step=float(edge.first_step))
        for (p, e), edge in sorted(differ.edges.items())]
    det = _check_forward_determinism(problem, outputs, differ.f0, eval_dtypes, xs, atol, rtol)
    if det:
        report.problems.append(det)
    return pairs, fwd_pairs, kinks


def _search_culprit(problem, pairs, fwd_pairs, order, atol, rtol, eps, richardson, numeric_dtype):
    """(culprit or None, the rules searched). A reverse-mode mismatch searches every op's vjp
    (in gradgradcheck: the ops of the derivative's graph too) and then, for second derivatives,
    every op's second derivative; a forward-mode mismatch searches every op's jvp. The tolerances
    are the user's (None: each op's own defaults)."""
    plan = []
    if any(not p.passed for p in pairs):
        plan.append((problem.fn, problem.inputs, "vjp"))
        if order == 2 and getattr(problem, "first_order", None) is not None:
            plan.append(problem.first_order + ("second",))
    if any(not p.passed for p in fwd_pairs):
        plan.append((problem.fn, problem.inputs, "jvp"))
    names = {"vjp": "vjp", "jvp": "jvp", "second": "second derivative"}
    for fn, inputs, rule in plan:
        found = find_culprit(fn, inputs, atol, rtol, eps, richardson, numeric_dtype, rule=rule)
        if found is not None:
            return found, names[rule]
    return None, " and ".join(names[r] for _, _, r in plan)


def _report(problem, eps=None, atol=None, rtol=None, fast_mode=False, nondet_tol=0.0,
            check_forward_ad=False, numeric_dtype=None, richardson=False, seed=0, culprit=True,
            order=1, full_on_failure=True):
    with AsLeaves(problem):
        return _check(problem, eps, atol, rtol, fast_mode, nondet_tol, check_forward_ad,
                      numeric_dtype, richardson, seed, culprit, order, full_on_failure)


def _check(problem, eps, atol, rtol, fast_mode, nondet_tol, check_forward_ad, numeric_dtype,
           richardson, seed, culprit, order, full_on_failure):
    outputs = problem.run_graph()
    if not problem.diff:
        raise ValueError("gradcheck: no input requires grad; pass the Tensors to check with "
                         "requires_grad=True")
    user_atol, user_rtol = atol, rtol
    xs, atol, rtol, eval_dtypes, acc, step, note = _settings(problem, outputs, eps, atol, rtol,
                                                             numeric_dtype, richardson)
    report = GradcheckReport(passed=True, inputs=_input_reports(problem), atol=atol, rtol=rtol,
                             step=step, order=order, fast_mode=fast_mode)
    if note:
        report.notes.append(note)
    with Swapped(problem, eval_dtypes, acc) as swapped:
        full = True
        if fast_mode:
            rng = np.random.default_rng(seed)
            fast = _fast.run(problem, outputs, xs, swapped, atol, rtol, eps, richardson, rng,
                             check_forward_ad, acc, eval_dtypes)
            report.evaluations += fast.evaluations
            report.nondeterminism = fast.nondeterminism
            full = full_on_failure and (not fast.passed or fast.nondeterminism > nondet_tol)
            if full:
                bad = [p for p in fast.pairs + fast.forward_pairs if not p.passed]
                why = (f"{bad[0].output_name} w.r.t. {bad[0].input_name} ({bad[0].mode}): "
                       f"projected analytic {bad[0].analytic:.9g} vs numeric "
                       f"{bad[0].numeric:.9g}" if bad else
                       "one-sided differences disagree along the random direction (a kink?)"
                       if fast.suspects else "the two backward passes differ")
                report.fast_note = (f"fast mode flagged {why}; the full Jacobian was computed "
                                    "for this report")
                report.recomputed_full = True
            else:
                pairs, fwd_pairs, kinks = fast.pairs, fast.forward_pairs, []
                report.domain_edges += [
                    DomainEdge(input=problem.diff[p], input_name=problem.input_names[
                        problem.diff[p]], index=None, method="central", step=float(c),
                        first_step=float(c0)) for p, c0, c in fast.edges]
        if full:
            pairs, fwd_pairs, kinks = _run_full(problem, outputs, xs, swapped, atol, rtol, eps,
                                                richardson, nondet_tol, check_forward_ad, acc,
                                                eval_dtypes, report)
    _fold(report.inputs, pairs)
    if check_forward_ad:
        report.forward = _fold(_input_reports(problem), fwd_pairs)
    report.nondifferentiable = kinks
    for kink in kinks:
        r = report.inputs[kink.input]
        if kink.index not in r.nondifferentiable:
            r.nondifferentiable.append(kink.index)
    if report.nondeterminism > nondet_tol:
        report.problems.insert(0, (
            f"backward is not deterministic (or not reentrant): two backward passes at the same "
            f"point differ by {report.nondeterminism:.3g} > nondet_tol={nondet_tol:g}"))
    report.passed = (all(p.passed for p in pairs + fwd_pairs) and not report.problems)
    if not report.passed and culprit:
        report.culprit, report.searched = _search_culprit(
            problem, pairs, fwd_pairs, order, user_atol, user_rtol, eps, richardson, numeric_dtype)
    return report


def gradcheck_report(fn, inputs, eps=None, atol=None, rtol=None, raise_exception=True,
                     fast_mode=False, nondet_tol=0.0, check_forward_ad=False, *,
                     numeric_dtype=None, richardson=False, seed=0, culprit=True):
    """Compare analytic derivatives of ``fn(*inputs)`` with finite differences; return a
    ``GradcheckReport`` (never raises for a mismatch; ``raise_exception`` is accepted for symmetry
    with ``gradcheck`` and ignored).

    ``fn`` returns a Tensor or a tuple of Tensors; inputs that are not Tensors or do not require
    grad are passed through unchecked. Complex inputs and outputs are checked as their real and
    imaginary parts (autonn's convention: HIPS autograd's and JAX's, see docs/gradcheck.md). ``eps`` (default: per dtype, see ``autonn.checking``)
    is the step for elements of magnitude <= 1 (larger ones get ``eps * |x|``); ``atol``/``rtol``
    apply per element as ``numpy.allclose`` (defaults per dtype: float64 1e-6/1e-5, float32
    1e-3/1e-2). ``fast_mode`` checks random projections ``v^T J u`` and recomputes the full
    Jacobian only on failure. ``nondet_tol`` bounds the difference of two backward passes.
    ``check_forward_ad`` checks forward-mode jvps against the same finite differences.
    Extra: ``numeric_dtype`` (e.g. ``np.longdouble``: evaluate fn in extended precision for the
    finite differences), ``richardson`` (extrapolate from steps h and h/2), ``seed`` (fast mode's
    random projections), ``culprit`` (search for the wrong op when the check fails).

    >>> import autonn as an
    >>> x = an.tensor([0.5, -1.0, 2.0], requires_grad=True)
    >>> rep = an.gradcheck_report(lambda t: an.tanh(t) * t, (x,))
    >>> rep.passed, rep.inputs[0].max_abs_error < 1e-8
    (True, True)
    """
    return _report(Problem(fn, inputs), eps, atol, rtol, fast_mode, nondet_tol, check_forward_ad,
                   numeric_dtype, richardson, seed, culprit)


def _finish(report, raise_exception):
    if report.passed:
        if report.nondifferentiable:
            warnings.warn(report.message(), GradcheckWarning, stacklevel=3)
        return True
    if raise_exception:
        raise GradcheckError(report.message(), report)
    return False


def gradcheck(fn, inputs, eps=None, atol=None, rtol=None, raise_exception=True, fast_mode=False,
              nondet_tol=0.0, check_forward_ad=False, **options):
    """Check the analytic gradients of ``fn(*inputs)`` against finite differences: True, or raise
    ``GradcheckError`` (False with ``raise_exception=False``). Same arguments as
    ``gradcheck_report``; the error message names the input, the output, the worst element's
    (0-based) index, both values, the tolerances, and the op found responsible.

    >>> import autonn as an
    >>> x = an.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> an.gradcheck(lambda t: (t @ t).sum(axis=0), (x,))
    True
    """
    report = gradcheck_report(fn, inputs, eps, atol, rtol, raise_exception, fast_mode,
                              nondet_tol, check_forward_ad, **options)
    return _finish(report, raise_exception)


def _random_like(rng, o):
    """Standard normal values shaped and typed as ``o`` (complex: both parts random)."""
    v = rng.standard_normal(o.shape)
    if is_complex(o.dtype):
        v = v + 1j * rng.standard_normal(o.shape)
    return v.astype(o.dtype)


def _second_order_problem(fn, inputs, grad_outputs, seed):
    """The function ``(inputs, grad_outputs) -> d(sum(outputs * grad_outputs))/d(inputs)``
    (``d Re(sum(outputs * grad_outputs))/d(inputs)`` for complex outputs: the vjp with the
    cotangents ``grad_outputs``)."""
    first = Problem(fn, inputs)
    outputs = first.run_graph()
    rng = np.random.default_rng(seed + 1)
    if grad_outputs is None:
        grad_outputs = [Tensor(_random_like(rng, o), requires_grad=True) for o in outputs]
    else:
        grad_outputs = list(grad_outputs) if isinstance(grad_outputs, (tuple, list)) \
            else [grad_outputs]
        if len(grad_outputs) != len(outputs):
            raise ValueError(f"gradgradcheck: {len(grad_outputs)} grad_outputs for "
                             f"{len(outputs)} floating outputs")
    n = len(first.inputs)

    def grads(*args):
        xs, vs = args[:n], args[n:]
        create = engine.is_grad_enabled()
        with engine.enable_grad():
            outs = [o for o in as_outputs(fn(*xs)) if o.dtype.kind in FLOATING]
            wanted = [xs[i] for i in first.diff]
            pairs = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
            if not pairs:
                return tuple(Tensor._make(np.zeros(x.shape, dtype=x.dtype)) for x in wanted)
            gs = engine.grad([o for o, _ in pairs], wanted, [v for _, v in pairs],
                             retain_graph=True, create_graph=create, allow_unused=True)
        return tuple(Tensor._make(np.zeros(x.shape, dtype=x.dtype)) if g is None else g
                     for g, x in zip(gs, wanted))

    names = [f"input {i}" for i in range(n)] + [f"grad_output {k}"
                                                 for k in range(len(grad_outputs))]
    out_names = [f"gradient w.r.t. input {i}" for i in first.diff]
    problem = Problem(grads, tuple(first.inputs) + tuple(grad_outputs), names, out_names)
    problem.first_order = (fn, first.inputs)
    return problem


def gradgradcheck(fn, inputs, grad_outputs=None, eps=None, atol=None, rtol=None,
                  raise_exception=True, fast_mode=False, nondet_tol=0.0,
                  check_forward_ad=False, *, report=False, **options):
    """Check second derivatives: ``gradcheck`` of ``(inputs, v) -> d(sum(fn(inputs) * v))/d inputs``
    where the gradient is taken with ``create_graph=True`` (for complex outputs, of
    ``Re(sum(fn(inputs) * v))``: the vjp with cotangents ``v``). ``grad_outputs`` (the ``v``)
    default to seeded random Tensors that require grad, so derivatives w.r.t. them are checked
    too. With ``report=True`` the ``GradcheckReport`` is returned instead.

    >>> import autonn as an
    >>> x = an.tensor([0.3, -0.7], requires_grad=True)
    >>> an.gradgradcheck(lambda t: an.sin(t) * t, (x,))
    True
    """
    seed = options.pop("seed", 0)
    problem = _second_order_problem(fn, inputs, grad_outputs, seed)
    rep = _report(problem, eps, atol, rtol, fast_mode, nondet_tol, check_forward_ad, seed=seed,
                  order=2, **options)
    if report:
        return rep
    return _finish(rep, raise_exception)
