"""Complex Tensors end to end: gradients, jvps and second derivatives of every op that
accepts complex inputs, against finite differences over the real and imaginary parts.

The convention (HIPS autograd's and JAX's): for a real loss L of z = x + iy the gradient is
dL/dx - i dL/dy, the conjugate of PyTorch's.
"""
import numpy as np
import pytest

import autonn as an

RNG = np.random.default_rng(7)
H = 1e-6


def _c(shape, scale=1.0, shift=0.0):
    return (RNG.normal(size=shape) + 1j * RNG.normal(size=shape)) * scale + shift


def fd_complex_grad(loss, z):
    """dL/dx - i dL/dy by central differences (loss: complex ndarray -> float)."""
    g = np.zeros(z.shape, dtype=np.complex128)
    for idx in np.ndindex(z.shape):
        for unit, part in ((1.0, 1.0), (1j, -1j)):
            zp, zm = z.copy(), z.copy()
            zp[idx] += H * unit
            zm[idx] -= H * unit
            g[idx] += part * (loss(zp) - loss(zm)) / (2 * H)
    return g


def _loss_np(fn_np, w):
    return lambda z: float(np.real(np.sum(w * fn_np(z))))


def _loss_an(fn_an, w):
    return lambda z: an.real((an.tensor(w) * fn_an(z)).sum())


# name: (autonn fn, numpy fn, input maker)
HOLOMORPHIC = {
    "exp": (an.exp, np.exp, lambda: _c((3,))),
    "log": (an.log, np.log, lambda: _c((3,), 1.0, 2.0)),
    "sqrt": (an.sqrt, np.sqrt, lambda: _c((3,), 0.5, 2.0)),
    "sin": (an.sin, np.sin, lambda: _c((2, 2))),
    "cos": (an.cos, np.cos, lambda: _c((3,))),
    "tan": (an.tan, np.tan, lambda: _c((3,), 0.3)),
    "sinh": (an.sinh, np.sinh, lambda: _c((3,))),
    "cosh": (an.cosh, np.cosh, lambda: _c((3,))),
    "log1p": (an.log1p, np.log1p, lambda: _c((3,), 0.3, 1.0)),
    "expm1": (an.expm1, np.expm1, lambda: _c((3,))),
    "square": (an.square, np.square, lambda: _c((3,))),
    "reciprocal": (an.reciprocal, np.reciprocal, lambda: _c((3,), 1.0, 2.0)),
    "arctan": (an.arctan, np.arctan, lambda: _c((3,), 0.3)),
    # the inverse functions over the whole plane, both sides of 0 (their cuts are lines: a
    # normal draw lands on none), where a branch-unaware rule (sqrt(z*z - 1)) gets the sign wrong
    "arcsin": (an.arcsin, np.arcsin, lambda: _c((4,), 1.5)),
    "arccos": (an.arccos, np.arccos, lambda: _c((4,), 1.5)),
    "arcsinh": (an.arcsinh, np.arcsinh, lambda: _c((4,), 1.5)),
    "arccosh": (an.arccosh, np.arccosh, lambda: _c((4,), 1.5)),
    "arctanh": (an.arctanh, np.arctanh, lambda: _c((4,), 1.5)),
    "tanh": (an.tanh, np.tanh, lambda: _c((3,), 0.5)),
    "log2": (an.log2, np.log2, lambda: _c((3,), 1.0, 2.0)),
    "log10": (an.log10, np.log10, lambda: _c((3,), 1.0, 2.0)),
    "exp2": (an.exp2, np.exp2, lambda: _c((3,))),
    "sinc": (an.sinc, np.sinc, lambda: np.concatenate([_c((3,)), _c((2,), 1e-3)])),  # and near 0
    "neg": (lambda z: -z, np.negative, lambda: _c((3,))),
    "mul_scalar": (lambda z: z * (2 - 1j), lambda z: z * (2 - 1j), lambda: _c((3,))),
    "add_scalar": (lambda z: 1.5 + z, lambda z: 1.5 + z, lambda: _c((3,))),
    "rdiv_scalar": (lambda z: 2.0 / z, lambda z: 2.0 / z, lambda: _c((3,), 1.0, 2.0)),
    "pow_scalar": (lambda z: z ** 3, lambda z: z ** 3, lambda: _c((3,))),
    "mul_self": (lambda z: z * z * z, lambda z: z * z * z, lambda: _c((3,))),
    "div_self": (lambda z: (z + 3) / (z - 4), lambda z: (z + 3) / (z - 4), lambda: _c((3,))),
    "pow_tensor": (lambda z: z ** (z * 0.5), lambda z: z ** (z * 0.5), lambda: _c((3,), 0.3, 1.5)),
    "matmul": (lambda z: z.reshape(2, 3) @ z.reshape(3, 2), lambda z: z.reshape(2, 3) @ z.reshape(3, 2),
               lambda: _c((6,))),
    "sum_mean": (lambda z: an.sum(z, axis=0) * an.mean(z), lambda z: np.sum(z, axis=0) * np.mean(z),
                 lambda: _c((2, 3))),
    "shape_ops": (lambda z: an.concatenate([an.transpose(z), z[::-1].T, an.pad(z, 1)[:3, :2]], axis=0),
                  lambda z: np.concatenate([z.T, z[::-1].T, np.pad(z, 1)[:3, :2]], axis=0),
                  lambda: _c((2, 3))),
}
NON_HOLOMORPHIC = {
    "abs": (an.abs, np.abs, lambda: _c((4,))),
    "real": (an.real, np.real, lambda: _c((3,))),
    "imag": (an.imag, np.imag, lambda: _c((3,))),
    "conj": (an.conj, np.conj, lambda: _c((3,))),
    "angle": (an.angle, np.angle, lambda: _c((3,))),
    "abs_squared": (lambda z: z * an.conj(z), lambda z: z * np.conj(z), lambda: _c((3,))),
    "mixed": (lambda z: an.exp(an.conj(z)) * an.abs(z) + an.angle(z) * z,
              lambda z: np.exp(np.conj(z)) * np.abs(z) + np.angle(z) * z, lambda: _c((3,))),
}
ALL = {**HOLOMORPHIC, **NON_HOLOMORPHIC}


@pytest.mark.parametrize("name", sorted(ALL))
def test_forward_and_gradient_match_finite_differences(name):
    fn_an, fn_np, make = ALL[name]
    z0 = make()
    np.testing.assert_allclose(fn_an(an.tensor(z0)).data, fn_np(z0), rtol=1e-12, atol=1e-12)
    w = _c(np.shape(fn_np(z0)))
    z = an.tensor(z0, requires_grad=True)
    _loss_an(fn_an, w)(z).backward()
    np.testing.assert_allclose(z.grad.data, fd_complex_grad(_loss_np(fn_np, w), z0),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(ALL))
def test_jvp_is_the_directional_derivative(name):
    fn_an, fn_np, make = ALL[name]
    z0, t0 = make(), None
    t0 = _c(z0.shape)
    _, tangent = an.func.jvp(fn_an, (an.tensor(z0),), (an.tensor(t0),))
    fd = (fn_np(z0 + H * t0) - fn_np(z0 - H * t0)) / (2 * H)
    np.testing.assert_allclose(tangent.data, fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["exp", "sin", "reciprocal", "pow_tensor", "matmul", "abs",
                                  "angle", "mixed", "arccosh", "tanh", "sinc"])
def test_second_derivative_matches_finite_differences_of_the_first(name):
    fn_an, _, make = ALL[name]
    z0 = make()
    w = _c(np.shape(fn_an(an.tensor(z0)).data))
    v = _c(z0.shape)

    def first(z):  # autonn's first derivative (checked above), as a real functional
        zt = an.tensor(z, requires_grad=True)
        (g,) = an.grad(_loss_an(fn_an, w)(zt), zt, create_graph=True)
        return an.real((an.tensor(v) * g).sum())

    z = an.tensor(z0, requires_grad=True)
    (g,) = an.grad(_loss_an(fn_an, w)(z), z, create_graph=True)
    (gg,) = an.grad(an.real((an.tensor(v) * g).sum()), z)
    np.testing.assert_allclose(gg.data, fd_complex_grad(lambda q: first(q).item(), z0),
                               rtol=1e-5, atol=1e-5)


def test_convention_is_the_conjugate_of_pytorchs():
    """|z|^2 = x^2 + y^2: dL/dx - i dL/dy = 2 conj(z) here; PyTorch gives 2 z."""
    z0 = np.array([1.0 + 2.0j, -0.5 + 0.25j])
    z = an.tensor(z0, requires_grad=True)
    (an.abs(z) ** 2).sum().backward()
    np.testing.assert_allclose(z.grad.data, 2 * np.conj(z0), rtol=1e-14)
    torch = pytest.importorskip("torch")
    tz = torch.tensor(z0, requires_grad=True)
    (tz.abs() ** 2).sum().backward()
    np.testing.assert_allclose(z.grad.data, np.conj(tz.grad.numpy()), rtol=1e-14)


def test_a_real_input_keeps_the_real_part_of_a_complex_gradient():
    x0, c, w = RNG.normal(size=3), _c((3,)), _c((3,))
    x = an.tensor(x0, requires_grad=True)
    an.real((an.tensor(w) * (x * an.tensor(c))).sum()).backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.data, np.real(w * c), rtol=1e-14)  # d/dx Re(w c x) = Re(w c)


def test_complex_leaf_accumulates_and_descends():
    """Gradient descent on |z - a|^2 with the conjugate of the gradient converges to a."""
    a = np.array([1.0 - 1.0j, 2.0 + 0.5j])
    z = an.tensor(np.zeros(2, dtype=np.complex128), requires_grad=True)
    for _ in range(100):
        z.grad = None
        (an.abs(z - an.tensor(a)) ** 2).sum().backward()
        with an.no_grad():
            z = an.tensor(z.data - 0.25 * np.conj(z.grad.data), requires_grad=True)
    np.testing.assert_allclose(z.data, a, atol=1e-12)


def test_ops_without_complex_rules_refuse_complex_inputs():
    z = an.tensor(_c((3,)), requires_grad=True)
    with pytest.raises(TypeError, match="Maximum.*complex"):
        an.maximum(z, z)
    with pytest.raises(TypeError, match="complex"):
        an.relu(z)
    an.maximum(an.tensor(_c((3,))), 0.0)  # without a graph the forward is NumPy's


@pytest.mark.parametrize("name", ["arctan2", "hypot", "logaddexp", "logaddexp2", "deg2rad",
                                  "rad2deg", "floor", "ceil", "trunc", "fmod", "remainder",
                                  "floor_divide", "fabs"])
def test_functions_numpy_refuses_for_complex_inputs_refuse_them_by_name(name):
    z = _c((2,))
    nin = getattr(np, name).nin
    with pytest.raises(TypeError):  # the oracle: NumPy has no complex loop for these
        getattr(np, name)(*[z] * nin)
    with pytest.raises(TypeError, match=f"(?i)^{name.replace('_', '')}: .*not supported"):
        getattr(an, name)(*[an.tensor(z, requires_grad=True)] * nin)


def test_backward_of_a_complex_output_needs_a_gradient():
    z = an.tensor(_c((1,)), requires_grad=True)
    with pytest.raises(RuntimeError, match="real scalar outputs"):
        (z * 2).sum().backward()


def test_complex_dtypes_follow_the_default_dtype():
    an.set_default_dtype(np.float32)
    try:
        assert an.tensor([1 + 1j]).dtype == np.complex64
        assert (an.tensor([1.0]) * 1j).dtype == np.complex64  # weak Python scalar
    finally:
        an.set_default_dtype(np.float64)
    assert an.tensor([1 + 1j]).dtype == np.complex128
    assert an.tensor(np.ones(2, np.complex64)).dtype == np.complex64


def test_tensor_real_imag_conj_methods():
    z = an.tensor([1 + 2j])
    assert z.real.item() == 1.0 and z.imag.item() == 2.0 and z.conj().item() == 1 - 2j


# ----- fft -----
FFT_CASES = [
    ("fft", {}, (5,), True), ("fft", {"n": 7}, (5,), True), ("fft", {"n": 3, "norm": "ortho"}, (5,), True),
    ("ifft", {"norm": "forward"}, (2, 4), True), ("ifft", {"n": 6, "axis": 0}, (4, 2), True),
    ("fft2", {}, (3, 4), True), ("ifft2", {"s": (2, 5)}, (3, 4), True),
    ("fftn", {"axes": (0, 2)}, (2, 3, 2), True), ("ifftn", {"norm": "ortho"}, (2, 3), True),
    ("rfft", {}, (6,), False), ("rfft", {}, (5,), False), ("rfft", {"n": 8, "norm": "ortho"}, (5,), False),
    ("rfft2", {}, (3, 5), False), ("rfftn", {"s": (4, 3), "axes": (0, 1)}, (3, 4), False),
    ("irfft", {}, (4,), True), ("irfft", {"n": 7}, (4,), True),
    ("irfft", {"n": 4, "norm": "forward"}, (5,), True),
    ("irfft2", {}, (3, 4), True), ("irfftn", {"s": (2, 5), "axes": (0, 1), "norm": "ortho"}, (3, 4), True),
    ("fftshift", {}, (5,), True), ("ifftshift", {"axes": 1}, (2, 5), True),
]


@pytest.mark.parametrize("name, kwargs, shape, complex_input", FFT_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(FFT_CASES)])
def test_fft_matches_numpy_and_finite_differences(name, kwargs, shape, complex_input):
    fn_an, fn_np = getattr(an.fft, name), getattr(np.fft, name)
    x0 = _c(shape) if complex_input else RNG.normal(size=shape)
    out = fn_an(an.tensor(x0), **kwargs)
    np.testing.assert_allclose(out.data, fn_np(x0, **kwargs), rtol=1e-12, atol=1e-12)
    w = _c(out.shape)
    x = an.tensor(x0, requires_grad=True)
    an.real((an.tensor(w) * fn_an(x, **kwargs)).sum()).backward()
    loss = _loss_np(lambda z: fn_np(z, **kwargs), w)
    if complex_input:
        expected = fd_complex_grad(loss, x0)
    else:
        expected = np.real(fd_complex_grad(lambda z: loss(np.real(z)), x0.astype(np.complex128)))
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-6, atol=1e-6)
    _, tangent = an.func.jvp(lambda t: fn_an(t, **kwargs), (an.tensor(x0),), (an.tensor(x0 * 0.5 + 1),))
    np.testing.assert_allclose(tangent.data, fn_np(x0 * 0.5 + 1, **kwargs), rtol=1e-12, atol=1e-12)


def test_fft_second_derivative_through_a_nonlinearity():
    x0 = RNG.normal(size=6)
    f = lambda t: (an.abs(an.fft.rfft(t)) ** 3).sum()
    _, hv = an.func.hvp(f, an.tensor(x0), an.tensor(np.eye(6)[2]))
    g = lambda y: an.func.grad(f)(an.tensor(y)).data
    fd = (g(x0 + H * np.eye(6)[2]) - g(x0 - H * np.eye(6)[2])) / (2 * H)
    np.testing.assert_allclose(hv.data, fd, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call, error, match", [
    (lambda: an.fft.fft(an.ones(3), n=0), ValueError, "fft.fft: invalid number of data points"),
    (lambda: an.fft.fft(an.ones(3), axis=2), ValueError, "fft.fft: axis 2 is out of bounds"),
    (lambda: an.fft.fft(an.ones(3), norm="unitary"), ValueError, "fft.fft: norm"),
    (lambda: an.fft.rfft(an.tensor([1j])), TypeError, "fft.rfft: the input is complex"),
    (lambda: an.fft.fft2(an.ones(3)), ValueError, "fft.fft2: axis -2 is out of bounds"),
    (lambda: an.fft.fft(an.tensor(1.0)), ValueError, "at least one dimension"),
    (lambda: an.fft.fftn(an.ones((2, 2)), s=(2,), axes=(0, 1)), ValueError, "different lengths"),
])
def test_fft_bad_arguments_name_the_function(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_fft_of_an_integer_input_is_float():
    np.testing.assert_allclose(an.fft.fft(an.tensor([1, 2, 3])).data, np.fft.fft([1, 2, 3]))


# ----- every registry entry marked complex, on complex inputs -----
from hypothesis import given, settings, strategies as st  # noqa: E402

from autonn_tests._helpers import COMPLEX_SPECS, registered_complex_case  # noqa: E402


@pytest.mark.parametrize("name", COMPLEX_SPECS)
@settings(max_examples=4)
@given(data=st.data())
def test_registered_complex_ops_match_finite_differences(name, data):
    spec, case, zs = registered_complex_case(name, data)
    out = spec.fn(*[an.tensor(z) for z in zs], **case.kwargs)
    np.testing.assert_allclose(out.data, spec.ref(*zs, **case.kwargs), rtol=1e-10, atol=1e-10)
    w = _c(out.shape)
    ts = [an.tensor(z, requires_grad=True) for z in zs]
    loss = an.real((an.tensor(w) * spec.fn(*ts, **case.kwargs)).sum())
    if not loss.requires_grad:
        return
    grads = an.grad(loss, ts, allow_unused=True)
    for i, (z, g) in enumerate(zip(zs, grads)):
        def partial(zi, i=i):
            args = list(zs)
            args[i] = zi
            return float(np.real(np.sum(w * spec.ref(*args, **case.kwargs))))
        expected = fd_complex_grad(partial, np.asarray(z, dtype=np.complex128))
        got = np.zeros_like(expected) if g is None else g.data
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=f"{name} input {i}")
