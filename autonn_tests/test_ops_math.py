"""The math functions, an.special and an.stats beyond what the registry-driven property suite
checks: integer promotion of float functions, NumPy's second names, arguments without a
derivative, NaN/inf handling, special points, and that ``import autonn`` does not load SciPy."""
import subprocess
import sys

import numpy as np
import pytest
import scipy.special as sc
import scipy.stats as ss

import autonn as an
from autonn.testing.registry import REGISTRY


def _int_inputs(spec, nin):
    low, high = spec.domain
    vals = [v for v in range(-3, 4) if low < v < high and all(abs(v - k) > 0.04
                                                                for k in spec.kinks)]
    if spec.name in ("tan",):
        vals = [v for v in vals if abs(v) <= 1]
    if spec.name in ("reciprocal", "hypot"):
        vals = [v for v in vals if v != 0]
    return [np.array(vals, dtype=np.int16) for _ in range(nin)]


def _promoting_entries():
    """The registered float functions with an integer inside their domain (logit has none)."""
    return sorted(n for n, s in REGISTRY.items() if getattr(s.fn, "promotes_integers", False)
                  and _int_inputs(s, 1)[0].size)


@pytest.mark.parametrize("name", _promoting_entries())
@pytest.mark.parametrize("default", [np.float64, np.float32])
def test_float_functions_promote_integers_to_the_default_float(name, default):
    spec = REGISTRY[name]
    nin = spec.fn.op.nin if hasattr(spec.fn, "op") else 1
    ints = _int_inputs(spec, nin)
    an.set_default_dtype(default)
    try:
        with np.errstate(all="ignore"):
            out = spec.fn(*[an.tensor(a) for a in ints])
            expected = spec.ref(*[a.astype(np.float64) for a in ints])
    finally:
        an.set_default_dtype(np.float64)
    assert out.dtype == default, f"{name}: {out.dtype}"
    tol = 1e-12 if default == np.float64 else 1e-5
    np.testing.assert_allclose(out.data, expected, rtol=tol, atol=tol, err_msg=name)


def test_exp_of_uint8_255_is_not_float16_inf():
    out = an.exp(an.tensor(np.uint8(255)))
    assert out.dtype == np.float64 and np.isclose(out.item(), np.exp(255.0), rtol=1e-14)


def test_an_integer_operand_takes_the_float_operands_dtype():
    x = an.tensor(np.array([1.0, 2.0], np.float32))
    assert an.arctan2(np.array([1, 2]), x).dtype == np.float32
    assert an.special.xlogy(an.tensor(np.array([1, 2])), x).dtype == np.float32
    assert an.logaddexp(an.tensor(np.array([1, 2])), an.tensor(np.array([3, 4]))).dtype == \
        np.float64


def test_rounding_keeps_numpys_integer_results():
    i = an.tensor(np.array([-3, 4], np.int32))
    for name in ("floor", "ceil", "trunc", "sign", "round"):
        out = getattr(an, name)(i)
        assert out.dtype == getattr(np, name)(i.data).dtype and np.array_equal(out.data, i.data
                                                                               if name != "sign"
                                                                               else [-1, 1])
    assert an.remainder(an.tensor(np.array([7, -7])), 3).dtype == np.int64


def test_numpys_second_names_are_the_same_functions():
    pairs = {"absolute": "abs", "negative": "neg", "subtract": "sub", "multiply": "mul",
             "divide": "div", "true_divide": "div", "power": "pow", "mod": "remainder",
             "around": "round", "radians": "deg2rad", "degrees": "rad2deg"}
    for alias, name in pairs.items():
        assert getattr(an, alias) is getattr(an, name), alias
    assert an.special.psi is an.special.digamma and an.special.jn is an.special.jv


def test_round_with_decimals():
    x = an.tensor([1.2345, -2.5551, 12.5], requires_grad=True)
    for d in (-1, 0, 2):
        out = an.round(x, d)
        np.testing.assert_array_equal(out.data, np.round(x.data, d))
        assert not np.any(an.grad(out.sum(), x)[0].data)
    with pytest.raises(TypeError, match="round: decimals must be an integer"):
        an.round(x, 1.5)


@pytest.mark.parametrize("call, message", [
    (lambda a: an.special.betainc(a, 2.0, an.tensor(0.3)), "betainc: no derivative with respect to a"),
    (lambda a: an.special.betainc(2.0, a, an.tensor(0.3)), "betainc: no derivative with respect to b"),
    (lambda a: an.special.gammainc(a, an.tensor(0.3)), "gammainc: no derivative with respect to a"),
    (lambda a: an.special.gammaincc(a, 0.3), "gammaincc: no derivative with respect to a"),
    (lambda a: an.special.iv(a, 1.5), "iv: no derivative with respect to the order v"),
    (lambda a: an.special.ive(a, 1.5), "ive: no derivative with respect to the order v"),
    (lambda a: an.special.jv(a, 1.5), "jv: no derivative with respect to the order v"),
    (lambda a: an.special.polygamma(a, 1.5), "polygamma: no derivative with respect to the order n"),
    (lambda a: an.special.yn(a, 1.5), "yn: no derivative with respect to the order n"),
    (lambda a: an.stats.t.cdf(0.3, a), "stdtr: no derivative with respect to df"),
    (lambda a: an.stats.beta.cdf(0.3, a, 2.0), "betainc: no derivative with respect to a"),
    (lambda a: an.stats.gamma.cdf(0.3, a), "gammainc: no derivative with respect to a"),
    (lambda a: an.stats.chi2.cdf(0.3, a), "gammainc: no derivative with respect to a"),
    (lambda a: an.stats.poisson.logpmf(a, 1.5), "poisson.logpmf: no derivative with respect to k"),
])
def test_a_derivative_that_does_not_exist_raises_when_asked_for(call, message):
    a = an.tensor(2.0, requires_grad=True)
    out = call(a)  # the forward works
    with pytest.raises(NotImplementedError, match=message):
        out.sum().backward()
    with pytest.raises(NotImplementedError, match=message):
        an.func.jvp(lambda t: call(t).sum(), (an.tensor(2.0),), (an.tensor(1.0),))


def test_the_other_arguments_still_differentiate():
    x = an.tensor(0.3, requires_grad=True)
    an.special.betainc(2.0, 3.0, x).backward()
    np.testing.assert_allclose(x.grad.item(), ss.beta.pdf(0.3, 2.0, 3.0), rtol=1e-12)
    x = an.tensor(1.2, requires_grad=True)
    an.special.iv(2.5, x).backward()
    np.testing.assert_allclose(x.grad.item(), sc.ivp(2.5, 1.2), rtol=1e-12)


def test_nan_to_num_gradient_is_zero_at_the_replaced_elements():
    x = an.tensor([1.0, np.nan, np.inf, -np.inf, -2.0], requires_grad=True)
    out = an.nan_to_num(x, nan=5.0, neginf=-7.0)
    np.testing.assert_array_equal(out.data, np.nan_to_num(x.data, nan=5.0, neginf=-7.0))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1, 0, 0, 0, 1])


def test_fmax_fmin_ignore_nans_and_route_the_gradient_to_the_number():
    x = an.tensor([1.0, np.nan, 3.0, np.nan], requires_grad=True)
    y = an.tensor([2.0, 3.0, np.nan, np.nan], requires_grad=True)
    for fn, ref in ((an.fmax, np.fmax), (an.fmin, np.fmin)):
        x.grad = y.grad = None
        out = fn(x, y)
        np.testing.assert_array_equal(out.data, ref(x.data, y.data))
        (out * an.tensor([1.0, 1.0, 1.0, 0.0])).sum().backward()
        assert x.grad.data[1] == 0 and y.grad.data[1] == 1
        assert x.grad.data[2] == 1 and y.grad.data[2] == 0


def test_real_if_close():
    x = an.tensor([1.5, 2.0], requires_grad=True)
    assert an.real_if_close(x) is x
    z = an.tensor(np.array([1.5 + 1e-20j, 2.0 + 0j]), requires_grad=True)
    out = an.real_if_close(z)
    assert out.dtype == np.float64 and np.array_equal(out.data, [1.5, 2.0])
    (out * an.tensor([1.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(z.grad.data, [1.0, 3.0])  # d/dz of real(z) . w
    far = an.tensor(np.array([1.5 + 1j]))
    assert an.real_if_close(far) is far


def test_sinc_derivatives_at_and_near_zero():
    x = an.tensor([0.0, 1e-9, 1e-3, -0.5], requires_grad=True)
    (d1,) = an.grad(an.sinc(x).sum(), x, create_graph=True)
    (d2,) = an.grad(d1.sum(), x)
    v = x.data
    exact1 = np.where(v == 0, 0, (np.cos(np.pi * v) - np.sinc(v)) / np.where(v == 0, 1, v))
    exact1[:3] = -np.pi ** 2 * v[:3] / 3 + np.pi ** 4 * v[:3] ** 3 / 30
    np.testing.assert_allclose(d1.data, exact1, rtol=1e-12, atol=1e-300)
    # sinc'' = -pi^2/3 + pi^4 x^2/10 - pi^6 x^4/168 near 0; at -0.5 from the closed form
    w = -0.5
    slope = (np.cos(np.pi * w) - np.sinc(w)) / w
    closed = (-np.pi * np.sin(np.pi * w) - 2 * slope) / w
    v2 = v[:3] ** 2
    np.testing.assert_allclose(d2.data[:3], -np.pi ** 2 / 3 + np.pi ** 4 * v2 / 10
                               - np.pi ** 6 * v2 * v2 / 168, rtol=1e-12)
    np.testing.assert_allclose(d2.data[3], closed, rtol=1e-12)


def test_logsumexp_with_negative_weights_and_the_sign():
    a = np.array([[0.1, 1.2, -0.3], [2.0, 0.5, 1.0]])
    b = np.array([1.0, -2.0, 0.5])
    for axis in (None, 1, (0, 1)):
        out, sgn = an.special.logsumexp(an.tensor(a), axis=axis, b=b, return_sign=True)
        ref, rsgn = sc.logsumexp(a, axis=axis, b=b, return_sign=True)
        np.testing.assert_allclose(out.data, ref, rtol=1e-13)
        np.testing.assert_array_equal(sgn.data, rsgn)
    x = an.tensor(a, requires_grad=True)
    an.special.logsumexp(x, axis=1, b=b, return_sign=True)[0].sum().backward()
    s = (b * np.exp(a)).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x.grad.data, b * np.exp(a) / s, rtol=1e-12)


def test_distributions_outside_their_support():
    x = an.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    out = an.stats.beta.logpdf(x, 2.0, 3.0)
    np.testing.assert_array_equal(out.data, ss.beta.logpdf(x.data, 2.0, 3.0))
    cdf = an.stats.beta.cdf(x, 2.0, 3.0)
    np.testing.assert_array_equal(cdf.data[[0, 2]], [0.0, 1.0])
    (an.stats.beta.pdf(x, 2.0, 3.0).sum() + cdf.sum()).backward()
    assert np.all(np.isfinite(x.grad.data)) and x.grad.data[0] == 0 and x.grad.data[2] == 0
    for dist in (an.stats.gamma, an.stats.chi2):
        x.grad = None
        out = dist.logpdf(x, 2.5)
        np.testing.assert_allclose(out.data, getattr(ss, dist.__name__.rsplit(".")[-1]).logpdf(
            x.data, 2.5), rtol=1e-13)
        (dist.pdf(x, 2.5).sum() + dist.cdf(x, 2.5).sum()).backward()
        assert np.all(np.isfinite(x.grad.data)) and x.grad.data[0] == 0


def test_dirichlet_takes_all_k_components_and_checks_the_simplex():
    x = np.array([[0.2, 0.5], [0.3, 0.1], [0.5, 0.4]])
    alpha = np.array([1.5, 2.0, 0.7])
    np.testing.assert_allclose(an.stats.dirichlet.logpdf(an.tensor(x), an.tensor(alpha)).data,
                               ss.dirichlet.logpdf(x, alpha), rtol=1e-13)
    with pytest.raises(ValueError, match="dirichlet: x must lie in the simplex"):
        an.stats.dirichlet.logpdf(an.tensor([0.5, 0.6, 0.2]), an.tensor(alpha))
    with pytest.raises(ValueError, match="dirichlet: x must have shape"):
        an.stats.dirichlet.logpdf(an.tensor([0.5]), an.tensor(alpha))


def test_multigammaln_checks_its_arguments():
    with pytest.raises(ValueError, match=r"multigammaln: a must be > \(d - 1\) / 2"):
        an.special.multigammaln(an.tensor([0.9]), 3)
    with pytest.raises(ValueError, match="multigammaln: d must be a positive integer"):
        an.special.multigammaln(an.tensor([3.0]), 1.5)


def test_no_gradient_functions_return_plain_values_or_tensors_without_a_graph():
    x = an.tensor([[1.0, 0.0], [np.nan, 2.0]], requires_grad=True)
    assert an.shape(x) == (2, 2) and an.ndim(x) == 2 and an.size(x) == 4
    assert an.allclose(x, x, equal_nan=True) is True and an.array_equal(x, x) is False
    assert an.count_nonzero(x) == 3 and isinstance(an.count_nonzero(x), int)
    assert an.result_type(x, np.float32) == np.float64
    for t in (an.isnan(x), an.greater(x, 0.5), an.logical_and(x, x), an.all(x, axis=0),
              an.count_nonzero(x, axis=1), an.zeros_like(x), an.full_like(x, 2.0)):
        assert isinstance(t, an.Tensor) and not t.requires_grad


def test_import_autonn_does_not_import_scipy():
    code = "import sys, autonn; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
