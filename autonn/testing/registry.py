"""The op registry: every op with a plain-NumPy reference, a strategy for its inputs and its
properties (elementwise, linear, kinks, domain, complex support). The property suite
(``autonn_tests/test_op_properties.py``), the gradient-checker tests and ``autonn gradcheck``
iterate over it and read the properties from the entries, so registering an op here is all it
takes to have it tested; a test checks that every name in ``autonn.ops.__all__`` is covered.

>>> from autonn.testing.registry import REGISTRY
>>> "matmul" in REGISTRY
True
"""
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autonn as an

from .strategies import arrays, axes, broadcastable_shapes, shapes


@dataclass(frozen=True)
class Case:
    """One drawn input: the differentiable arrays and the non-differentiable keyword arguments."""
    arrays: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OpSpec:
    name: str
    fn: Callable            # (*Tensors, **kwargs) -> Tensor
    ref: Callable           # (*ndarrays, **kwargs) -> ndarray, plain NumPy
    cases: Callable         # dtype -> SearchStrategy[Case]
    covers: tuple = ()      # exported names this spec tests
    second_order: bool = True  # False when the second derivative is identically zero
    kinks: tuple = ()       # points where the op is not differentiable (inputs are drawn away)
    elementwise: bool = False  # out[i] depends on the inputs at i only (inputs broadcast)
    linear: bool = False    # linear in its array inputs: f(a + 2b) = f(a) + 2 f(b)
    domain: tuple = (-math.inf, math.inf)  # open interval of real inputs where it is defined
    complex: bool = False   # accepts complex inputs (HIPS autograd's / JAX's convention)
    differentiable: bool = True  # False: integer output, only the forward is tested
    zero_gradient: bool = False  # piecewise constant (floor, sign): the gradient is exactly 0


REGISTRY: dict[str, OpSpec] = {}


def register(name, fn, ref, cases=None, covers=None, *, elementwise=None, linear=False,
             second_order=None, kinks=(), domain=None, complex=False, differentiable=True,
             zero_gradient=False):
    """Add an op to the registry (this is all it takes to have it property-tested).

    ``elementwise`` defaults to what an op declared with ``autonn.ops._rules.elementwise``
    says; ``second_order`` to ``not linear``; ``cases`` (for a unary op) to values drawn inside
    ``domain`` (within [-3, 3]) away from ``kinks``.

    >>> from autonn.testing.registry import REGISTRY
    >>> REGISTRY["log"].domain, REGISTRY["log"].elementwise, REGISTRY["neg"].linear
    ((0.0, inf), True, True)
    """
    if elementwise is None:
        elementwise = bool(getattr(fn, "elementwise", False))
    if second_order is None:
        second_order = differentiable and not linear and not zero_gradient
    domain = (-math.inf, math.inf) if domain is None else tuple(float(v) for v in domain)
    if cases is None:
        cases = unary(max(domain[0] + 0.1, -3.0), min(domain[1] - 0.1, 3.0), avoid=kinks)
    REGISTRY[name] = OpSpec(name, fn, ref, cases, tuple(covers or (name,)), second_order,
                            tuple(kinks), elementwise, linear, domain, complex, differentiable,
                            zero_gradient)


# ----- case strategies -----
def unary(low=-3.0, high=3.0, avoid=(), max_dims=3, margin=0.05):
    def cases(dtype):
        return arrays(shapes(max_dims=max_dims), dtype, low, high, avoid, margin).map(
            lambda a: Case((a,)))
    return cases


def binary(low=-3.0, high=3.0, low2=None, high2=None, avoid2=(), apart=0.0):
    def cases(dtype):
        @st.composite
        def draw(draw):
            s1, s2 = draw(broadcastable_shapes(2))
            a = draw(arrays(s1, dtype, low, high))
            b = draw(arrays(s2, dtype, low if low2 is None else low2,
                            high if high2 is None else high2, avoid2))
            if apart:  # keep the two operands apart, e.g. away from ties of maximum
                from hypothesis import assume
                assume(np.all(np.abs(a.astype(np.float64) - b) > apart))
            return Case((a, b))
        return draw()
    return cases


def reduction(low=-3.0, high=3.0, distinct=False, with_ddof=False):
    def cases(dtype):
        @st.composite
        def draw(draw):
            shape = draw(shapes(min_dims=1, max_dims=3))
            if distinct:  # distinct values: no ties for max/min
                n = int(np.prod(shape))
                vals = draw(st.permutations(range(n)))
                scale = draw(st.floats(0.1, 1.0))
                a = (np.asarray(vals, dtype=np.float64).reshape(shape) * scale - n * scale / 2)
                a = a.astype(dtype)
            else:
                a = draw(arrays(shape, dtype, low, high))
            kw = {"axis": draw(axes(len(shape))), "keepdims": draw(st.booleans())}
            if with_ddof:
                axs = kw["axis"]
                count = int(np.prod([shape[x] for x in (range(len(shape)) if axs is None else
                                                        np.atleast_1d(axs))]))
                kw["ddof"] = draw(st.integers(0, max(0, min(1, count - 1))))
                if with_ddof == "std":
                    from hypothesis import assume
                    assume(np.all(np.var(a.astype(np.float64), axis=axs, ddof=kw["ddof"]) > 1e-2))
            return Case((a,), kw)
        return draw()
    return cases


def with_axis(low=-3.0, high=3.0):
    def cases(dtype):
        @st.composite
        def draw(draw):
            shape = draw(shapes(min_dims=1, max_dims=3))
            a = draw(arrays(shape, dtype, low, high))
            return Case((a,), {"axis": draw(st.integers(-len(shape), len(shape) - 1))})
        return draw()
    return cases


def _matmul_cases(dtype):
    @st.composite
    def draw(draw):
        n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
        kind = draw(st.sampled_from(["mm", "mv", "vm", "vv", "batched", "broadcast"]))
        if kind == "mm":
            sa, sb = (n, k), (k, m)
        elif kind == "mv":
            sa, sb = (n, k), (k,)
        elif kind == "vm":
            sa, sb = (k,), (k, m)
        elif kind == "vv":
            sa, sb = (k,), (k,)
        elif kind == "batched":
            b = draw(st.integers(1, 3))
            sa, sb = (b, n, k), (b, k, m)
        else:
            b = draw(st.integers(1, 3))
            sa, sb = (2, 1, n, k), (b, k, m)
        return Case((draw(arrays(sa, dtype)), draw(arrays(sb, dtype))))
    return draw()


def _shape_case(make_kwargs, min_dims=0):
    def cases(dtype):
        @st.composite
        def draw(draw):
            shape = draw(shapes(min_dims=min_dims, max_dims=3))
            return Case((draw(arrays(shape, dtype)),), draw(make_kwargs(shape)))
        return draw()
    return cases


def _reshape_kwargs(shape):
    n = int(np.prod(shape))
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    return st.sampled_from(divisors).flatmap(
        lambda d: st.sampled_from([(d, n // d), (n // d, -1), (n,), (1, d, n // d)])).map(
        lambda s: {"shape": s})


def _permutation_kwargs(shape):
    return st.permutations(range(len(shape))).map(lambda p: {"axes": tuple(p)})


def _swap_kwargs(shape):
    nd = len(shape)
    return st.tuples(st.integers(-nd, nd - 1), st.integers(-nd, nd - 1)).map(
        lambda ab: {"axis1": ab[0], "axis2": ab[1]})


def _squeeze_cases(dtype):
    @st.composite
    def draw(draw):
        shape = list(draw(shapes(max_dims=3)))
        pos = draw(st.integers(0, len(shape)))
        shape.insert(pos, 1)
        axis = draw(st.sampled_from([None, pos, pos - len(shape)]))
        return Case((draw(arrays(tuple(shape), dtype)),), {"axis": axis})
    return draw()


def _unsqueeze_kwargs(shape):
    return st.integers(-len(shape) - 1, len(shape)).map(lambda a: {"axis": a})


def _broadcast_cases(dtype):
    @st.composite
    def draw(draw):
        r = draw(hnp.mutually_broadcastable_shapes(num_shapes=1, max_dims=3, max_side=4))
        shape, target = r.input_shapes[0], r.result_shape
        extra = draw(st.lists(st.integers(1, 3), max_size=1))
        return Case((draw(arrays(shape, dtype)),), {"shape": tuple(extra) + target})
    return draw()


def _flatten_kwargs(shape):
    nd = max(len(shape), 1)
    return st.tuples(st.integers(0, nd - 1), st.integers(0, nd - 1)).map(
        lambda se: {"start_dim": min(se), "end_dim": max(se)} if len(shape) else {})


def _seq_cases(stacking):
    def cases(dtype):
        @st.composite
        def draw(draw):
            base = list(draw(shapes(min_dims=1, max_dims=3)))
            count = draw(st.integers(1, 3))
            axis = draw(st.integers(0, len(base) - (0 if stacking else 1)))
            parts = []
            for _ in range(count):
                shp = list(base)
                if not stacking:
                    shp[axis] = draw(st.integers(1, 3))
                parts.append(draw(arrays(tuple(shp), dtype)))
            return Case(tuple(parts), {"axis": axis})
        return draw()
    return cases


def _split_cases(dtype):
    @st.composite
    def draw(draw):
        shape = draw(shapes(min_dims=1, max_dims=3))
        axis = draw(st.integers(0, len(shape) - 1))
        n = shape[axis]
        if draw(st.booleans()):
            divisors = [d for d in range(1, n + 1) if n % d == 0]
            ios = draw(st.sampled_from(divisors))
        else:
            ios = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
        return Case((draw(arrays(shape, dtype)),), {"indices_or_sections": ios, "axis": axis})
    return draw()


def _pad_cases(dtype):
    @st.composite
    def draw(draw):
        shape = draw(shapes(min_dims=1, max_dims=2, min_side=2))
        mode = draw(st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap"]))
        top = 1 if mode == "reflect" else 2
        width = tuple((draw(st.integers(0, top)), draw(st.integers(0, top))) for _ in shape)
        kw = {"pad_width": width, "mode": mode}
        if mode == "constant":
            kw["constant_values"] = draw(st.sampled_from([0, 1.5]))
        return Case((draw(arrays(shape, dtype)),), kw)
    return draw()


def _index_cases(dtype):
    @st.composite
    def draw(draw):
        shape = draw(shapes(min_dims=1, max_dims=3))
        kind = draw(st.sampled_from(["basic", "int_array", "bool", "mixed"]))
        if kind == "basic":
            index = draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
        elif kind == "int_array":  # repeats allowed: gradients must accumulate
            index = np.asarray(draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1,
                                             max_size=5)))
        elif kind == "bool":
            index = draw(hnp.arrays(bool, shape))
        else:
            idx = np.asarray(draw(st.lists(st.integers(0, shape[-1] - 1), min_size=1, max_size=4)))
            index = (Ellipsis, idx) if len(shape) > 1 else (idx,)
        return Case((draw(arrays(shape, dtype)),), {"index": index})
    return draw()


def _where_cases(dtype):
    @st.composite
    def draw(draw):
        s1, s2, s3 = draw(broadcastable_shapes(3))
        cond = draw(hnp.arrays(bool, s1))
        return Case((draw(arrays(s2, dtype)), draw(arrays(s3, dtype))), {"condition": cond})
    return draw()


def _clip_cases(dtype):
    @st.composite
    def draw(draw):
        shape = draw(shapes())
        lo = draw(st.sampled_from([-1.0, None]))
        hi = draw(st.sampled_from([1.0, None] if lo is not None else [1.0]))
        avoid = tuple(v for v in (lo, hi) if v is not None)
        return Case((draw(arrays(shape, dtype, -2, 2, avoid)),), {"a_min": lo, "a_max": hi})
    return draw()


# ----- references -----
def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x.astype(np.float64)).astype(x.dtype)


def _ref_logsumexp(a, axis=None, keepdims=False):
    m = np.max(a, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis if axis is not None else None)


def _ref_softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _ref_softplus(a):
    return np.where(a > 20, a, np.log1p(np.exp(np.minimum(a, 20))))


def _ref_flatten(a, start_dim=0, end_dim=-1):
    if a.ndim == 0:
        return a.reshape(1)
    e = end_dim % a.ndim
    return a.reshape(a.shape[:start_dim] + (-1,) + a.shape[e + 1:])


def _ref_split(a, indices_or_sections, axis):
    return np.concatenate([p.ravel() for p in np.split(a, indices_or_sections, axis=axis)])


def _split_fn(x, indices_or_sections, axis):
    return an.concatenate([p.reshape(-1) for p in an.split(x, indices_or_sections, axis=axis)])


EW = {"elementwise": True}  # for ops given as lambdas (declared ops say it themselves)
register("add", lambda x, y: x + y, np.add, binary(), linear=True, **EW)
register("sub", lambda x, y: x - y, np.subtract, binary(), linear=True, **EW)
register("mul", lambda x, y: x * y, np.multiply, binary(), **EW)
register("div", lambda x, y: x / y, np.divide, binary(low2=0.5, high2=3.0), **EW)
register("pow", lambda x, y: x ** y, np.power, binary(0.5, 2.0, -2.0, 2.0), **EW)
register("neg", lambda x: -x, np.negative, unary(), linear=True, **EW)
register("cast", lambda x: an.cast(an.cast(x, np.longdouble), x.dtype), lambda a: a, unary(),
         linear=True, **EW)  # a round trip through longdouble: both Casts' rules, exact values


def _with_scalar(low=-3.0, high=3.0, constants=(-1.5, 0.5, 2.0, 3)):
    """A tensor and a Python number (int or float): the scalar-constant op forms."""
    def cases(dtype):
        return st.tuples(arrays(shapes(), dtype, low, high), st.sampled_from(constants)).map(
            lambda ac: Case((ac[0],), {"c": ac[1]}))
    return cases


register("add_scalar", lambda x, c: x + c, lambda a, c: a + c, _with_scalar(),
         second_order=False, covers=("add",), **EW)  # affine
register("rsub_scalar", lambda x, c: c - x, lambda a, c: c - a, _with_scalar(),
         second_order=False, covers=("sub",), **EW)  # affine: no second derivative
register("mul_scalar", lambda x, c: c * x, lambda a, c: c * a, _with_scalar(), linear=True,
         covers=("mul",), **EW)
register("div_scalar", lambda x, c: x / c, lambda a, c: a / c, _with_scalar(), linear=True,
         covers=("div",), **EW)
register("rdiv_scalar", lambda x, c: c / x, lambda a, c: c / a, _with_scalar(0.5, 3.0),
         covers=("div",), **EW)
register("pow_scalar", lambda x, c: x ** c, lambda a, c: a ** c,
         _with_scalar(0.5, 3.0, (-1.5, 0.5, 2.0, 3, 0, 1)), covers=("pow",), **EW)
register("rpow_scalar", lambda x, c: c ** x, lambda a, c: np.power(c, a),
         _with_scalar(-2.0, 2.0, (0.5, 2.0, 3)), covers=("pow",), **EW)
register("exp", an.exp, np.exp)
register("log", an.log, np.log, domain=(0, math.inf))
register("sqrt", an.sqrt, np.sqrt, domain=(0, math.inf))
register("abs", an.abs, np.abs, second_order=False, kinks=(0,))
register("sin", an.sin, np.sin)
register("cos", an.cos, np.cos)
register("tan", an.tan, np.tan, unary(-1.2, 1.2))  # poles at +-pi/2
register("log1p", an.log1p, np.log1p, domain=(-1, math.inf))
register("expm1", an.expm1, np.expm1)
register("square", an.square, np.square)
register("reciprocal", an.reciprocal, np.reciprocal, unary(avoid=(0,), margin=0.4))  # pole at 0
register("sinh", an.sinh, np.sinh)
register("cosh", an.cosh, np.cosh)
register("arctan", an.arctan, np.arctan)
register("arctan2", an.arctan2, np.arctan2, binary(0.3, 3.0))
register("tanh", an.tanh, np.tanh, **EW)
register("sigmoid", an.sigmoid, lambda a: 1 / (1 + np.exp(-a)), unary(-6, 6), **EW)
register("relu", an.relu, lambda a: np.maximum(a, 0), second_order=False, kinks=(0,), **EW)
register("leaky_relu", lambda x: an.leaky_relu(x, 0.1), lambda a: np.where(a > 0, a, 0.1 * a),
         second_order=False, kinks=(0,), covers=("leaky_relu",), **EW)
register("elu", lambda x: an.elu(x, 0.7), lambda a: np.where(a > 0, a, 0.7 * np.expm1(a)),
         kinks=(0,), covers=("elu",), **EW)
register("gelu", an.gelu, lambda a: a * 0.5 * (1 + _erf(a / np.sqrt(2))), **EW)
register("softplus", an.softplus, _ref_softplus, unary(-5, 5), **EW)
register("maximum", an.maximum, np.maximum, binary(apart=0.05), second_order=False, **EW)
register("minimum", an.minimum, np.minimum, binary(apart=0.05), second_order=False, **EW)
register("clip", lambda x, a_min, a_max: an.clip(x, a_min, a_max),
         lambda a, a_min, a_max: np.clip(a, a_min, a_max), _clip_cases, second_order=False,
         **EW)
register("where", lambda x, y, condition: an.where(condition, x, y),
         lambda a, b, condition: np.where(condition, a, b), _where_cases, linear=True, **EW)
register("sum", an.sum, np.sum, reduction(), linear=True)
register("mean", an.mean, np.mean, reduction(), linear=True)
register("max", an.max, np.max, reduction(distinct=True), second_order=False)
register("min", an.min, np.min, reduction(distinct=True), second_order=False)
register("var", an.var, np.var, reduction(with_ddof=True))
register("std", an.std, np.std, reduction(with_ddof="std"))
register("logsumexp", an.logsumexp, _ref_logsumexp, reduction())
register("softmax", an.softmax, _ref_softmax, with_axis())
register("log_softmax", an.log_softmax, lambda a, axis: np.log(_ref_softmax(a, axis)), with_axis())
register("argmax", an.argmax, np.argmax, with_axis(), differentiable=False)
register("argmin", an.argmin, np.argmin, with_axis(), differentiable=False)
register("matmul", lambda x, y: x @ y, np.matmul, _matmul_cases)
register("reshape", lambda x, shape: an.reshape(x, shape), lambda a, shape: a.reshape(shape),
         _shape_case(_reshape_kwargs), linear=True)
register("transpose", lambda x, axes: an.transpose(x, axes), lambda a, axes: a.transpose(axes),
         _shape_case(_permutation_kwargs), covers=("transpose", "permute"), linear=True)
register("swapaxes", an.swapaxes, np.swapaxes, _shape_case(_swap_kwargs, min_dims=1),
         linear=True)
register("squeeze", lambda x, axis: an.squeeze(x, axis), lambda a, axis: np.squeeze(a, axis),
         _squeeze_cases, linear=True)
register("unsqueeze", lambda x, axis: an.unsqueeze(x, axis), lambda a, axis: np.expand_dims(a, axis),
         _shape_case(_unsqueeze_kwargs), linear=True)
register("broadcast_to", an.broadcast_to, np.broadcast_to, _broadcast_cases,
         covers=("broadcast_to", "expand"), linear=True)
register("flatten", an.flatten, _ref_flatten, _shape_case(_flatten_kwargs), linear=True)
register("concatenate", lambda *xs, axis: an.concatenate(xs, axis=axis),
         lambda *arrs, axis: np.concatenate(arrs, axis=axis), _seq_cases(False), linear=True)
register("stack", lambda *xs, axis: an.stack(xs, axis=axis),
         lambda *arrs, axis: np.stack(arrs, axis=axis), _seq_cases(True), linear=True)
register("split", _split_fn, _ref_split, _split_cases, linear=True)
register("pad", lambda x, **kw: an.pad(x, **kw), lambda a, **kw: np.pad(a, **kw), _pad_cases,
         second_order=False)  # affine (constant_values), not linear
register("getitem", lambda x, index: x[index], lambda a, index: a[index], _index_cases,
         linear=True)


# ----- fused network ops (autonn.ops.nn) -----
_ACTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
    "gelu": lambda z: z * 0.5 * (1 + _erf(z / np.sqrt(2))),
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "softplus": _ref_softplus,
}
_KINKED = ("relu", "leaky_relu", "elu")


def _linear_cases(activation):
    def cases(dtype):
        @st.composite
        def draw(draw):
            n, i, o = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
            x = draw(arrays((n, i), dtype, -2, 2))
            w = draw(arrays((i, o), dtype, -2, 2))
            b = draw(arrays((o,), dtype, -2, 2))
            if activation in _KINKED:  # keep pre-activations away from the kink at 0
                from hypothesis import assume
                assume(np.all(np.abs(x.astype(np.float64) @ w + b) > 0.05))
            return Case((x, w, b))
        return draw()
    return cases


def _linear_fn(activation):
    return lambda x, w, b: an.ops.nn.linear(x, w, b, activation)


for _act in _ACTS:
    register(f"linear[{_act}]", _linear_fn(_act),
             (lambda f: lambda x, w, b: f(x @ w + b))(_ACTS[_act]), _linear_cases(_act),
             covers=("linear",), kinks=(0,) if _act in _KINKED else ())


def _ce_cases(dtype):
    @st.composite
    def draw(draw):
        n, c = draw(st.integers(1, 4)), draw(st.integers(2, 5))
        logits = draw(arrays((n, c), dtype))
        labels = np.asarray(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
        reduction = draw(st.sampled_from(["mean", "sum", "none"]))
        return Case((logits,), {"target": labels, "reduction": reduction})
    return draw()


def _ref_log_softmax(a):
    m = a.max(axis=1, keepdims=True)
    return a - m - np.log(np.exp(a - m).sum(axis=1, keepdims=True))


def _ref_reduce(losses, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](losses)


def _ref_cross_entropy(logits, target, reduction):
    return _ref_reduce(-_ref_log_softmax(logits)[np.arange(len(target)), target], reduction)


def _ref_nll(logp, target, reduction):
    return _ref_reduce(-logp[np.arange(len(target)), target], reduction)


register("cross_entropy", lambda x, target, reduction: an.ops.nn.cross_entropy(x, target, reduction),
         _ref_cross_entropy, _ce_cases)
register("nll_loss", lambda x, target, reduction: an.ops.nn.nll_loss(x, target, reduction),
         _ref_nll, _ce_cases, linear=True)


def _conv_cases(dtype):
    @st.composite
    def draw(draw):
        n, cin, cout = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
        kh, kw = draw(st.integers(1, 2)), draw(st.integers(1, 3))
        stride, padding, dilation = (draw(st.integers(1, 2)), draw(st.integers(0, 1)),
                                     draw(st.integers(1, 2)))
        h = draw(st.integers(max(1, dilation * (kh - 1) + 1 - 2 * padding), 5))
        w = draw(st.integers(max(1, dilation * (kw - 1) + 1 - 2 * padding), 6))
        return Case((draw(arrays((n, cin, h, w), dtype)), draw(arrays((cout, cin, kh, kw), dtype)),
                     draw(arrays((cout,), dtype))),
                    {"stride": stride, "padding": padding, "dilation": dilation})
    return draw()


def _ref_conv2d(x, w, b, stride, padding, dilation):
    """Direct loop convolution (cross-correlation, as PyTorch)."""
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    ho = (h - dilation * (kh - 1) - 1) // stride + 1
    wo = (wd - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=np.result_type(x, w))
    for i in range(ho):
        for j in range(wo):
            patch = x[:, :, i * stride:i * stride + dilation * (kh - 1) + 1:dilation,
                      j * stride:j * stride + dilation * (kw - 1) + 1:dilation]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    return out + b[None, :, None, None]


register("conv2d", lambda x, w, b, **kw: an.ops.nn.conv2d(x, w, b, **kw), _ref_conv2d, _conv_cases)


def _pool_cases(dtype):
    @st.composite
    def draw(draw):
        n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        k = draw(st.integers(1, 2))
        stride = draw(st.integers(1, 2))
        h, w = draw(st.integers(k, 5)), draw(st.integers(k, 5))
        size = n * c * h * w
        vals = np.asarray(draw(st.permutations(range(size))), dtype=np.float64)  # no ties
        return Case(((vals.reshape(n, c, h, w) * 0.37 - size * 0.1).astype(dtype),),
                    {"kernel_size": k, "stride": stride})
    return draw()


def _ref_max_pool2d(x, kernel_size, stride):
    n, c, h, w = x.shape
    ho, wo = (h - kernel_size) // stride + 1, (w - kernel_size) // stride + 1
    out = np.empty((n, c, ho, wo), dtype=x.dtype)
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + kernel_size,
                                j * stride:j * stride + kernel_size].max(axis=(2, 3))
    return out


register("max_pool2d", lambda x, **kw: an.ops.nn.max_pool2d(x, **kw), _ref_max_pool2d, _pool_cases,
         second_order=False)


# ----- complex numbers (autonn.ops.complex_parts) and the Fourier transforms (autonn.fft) -----
# Each is composed with a complex constant so that real inputs (the property suite's) exercise the
# complex rules: imag and angle of a real number have no gradient to check.
_W = 1.0 + 0.5j
register("real", lambda x: an.real(x * _W), lambda a: np.real(a * _W), linear=True, complex=True)
register("imag", lambda x: an.imag(x * _W), lambda a: np.imag(a * _W), linear=True, complex=True)
register("conj", lambda x: an.real(an.conj(x * _W) * (0.3 + 1j)),
         lambda a: np.real(np.conj(a * _W) * (0.3 + 1j)), linear=True, complex=True,
         covers=("conj", "conjugate"))
register("angle", lambda x: an.angle(x + 0.7j), lambda a: np.angle(a + 0.7j), complex=True)


def _re_im(y):
    """A complex result as real numbers (its real parts, then its imaginary parts), so the real
    property suite checks every component of a complex-valued op."""
    if isinstance(y, an.Tensor):
        return an.concatenate([an.reshape(an.real(y), -1), an.reshape(an.imag(y), -1)])
    return np.concatenate([np.real(y).ravel(), np.imag(y).ravel()])


def _fft_cases(min_dims=1):
    def cases(dtype):
        @st.composite
        def draw(draw):
            shape = draw(shapes(min_dims=min_dims, max_dims=3, min_side=2))  # irfft: n >= 2
            return Case((draw(arrays(shape, dtype)),))
        return draw()
    return cases


for _name, _nd in [("fft", 1), ("ifft", 1), ("rfft", 1), ("irfft", 1), ("fft2", 2), ("ifft2", 2),
                   ("rfft2", 2), ("irfft2", 2), ("fftn", 1), ("ifftn", 1), ("rfftn", 1),
                   ("irfftn", 1), ("fftshift", 1), ("ifftshift", 1)]:
    register(f"fft.{_name}", (lambda f: lambda x: _re_im(f(x)))(getattr(an.fft, _name)),
             (lambda f: lambda a: _re_im(f(a)))(getattr(np.fft, _name)), _fft_cases(_nd),
             covers=(f"fft.{_name}",), linear=True, complex=not _name.startswith("rfft"))

# ops whose rules are right for complex inputs (the test of complex gradients reads this flag)
for _name in ("add sub mul div pow neg add_scalar rsub_scalar mul_scalar div_scalar "
              "rdiv_scalar pow_scalar exp log sqrt abs sin cos tan log1p expm1 square reciprocal "
              "sinh cosh arctan tanh where sum mean matmul reshape transpose swapaxes squeeze "
              "unsqueeze broadcast_to flatten concatenate stack split pad getitem").split():
    REGISTRY[_name] = dataclasses.replace(REGISTRY[_name], complex=True)

# NumPy's array functions (reductions, products, sorting, shape and index): their own module
# ----- math, special functions, distributions (autonn.testing.registry_math) -----
from . import (  # noqa: E402  (both register entries into REGISTRY above)
    registry_arrays,  # noqa: F401
    registry_linalg,  # noqa: F401  (autonn.linalg's entries)
    registry_math,  # noqa: E402,F401
)
