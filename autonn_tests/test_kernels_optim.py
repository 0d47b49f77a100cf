"""The fused optimizer updates (``autonn.kernels.optim``): the Numba kernels match their NumPy
twins bit for bit, and the twins match PyTorch's formulas written out in NumPy (one step at a
time, every option). The optimizers that call them are tested in test_optim.py."""
import numpy as np
import pytest

from autonn.kernels import _config, _optim_numpy as twin, optim as fused

FLOATS = (np.float32, np.float64)
N = 3001  # odd: no vector loop ends on a lane boundary


def _arrays(dt, n=N, seed=0, k=5):
    rng = np.random.default_rng(seed)
    out = [rng.standard_normal(n).astype(dt) for _ in range(k)]
    out[3] = np.abs(out[3])  # a second moment is >= 0
    out[4] = np.abs(out[4])
    out[1][:4] = [0.0, -0.0, 1e-30, -7.5]  # zero and tiny gradients
    return out


@pytest.fixture
def numba_always():
    old = _config.NUMBA_MIN_SIZE
    _config.NUMBA_MIN_SIZE = 0
    yield
    _config.NUMBA_MIN_SIZE = old


SGD_CASES = [dict(), dict(weight_decay=0.01), dict(momentum=0.9),
             dict(momentum=0.9, dampening=0.3, weight_decay=0.1),
             dict(momentum=0.8, nesterov=True), dict(momentum=0.5, maximize=True)]


@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("opts", SGD_CASES, ids=lambda o: ",".join(o) or "plain")
def test_sgd_kernel_matches_twin_bits(dt, opts, numba_always):
    p, g, _, _, _ = _arrays(dt)
    p1, p2 = p.copy(), p.copy()
    b1 = b2 = None
    for step in range(3):  # the first step creates the momentum buffer
        g_t = g * dt(1 + step)
        b1 = twin.sgd_step(p1, g_t, 0.05, buf=b1, **opts)
        b2 = fused.sgd_step(p2, g_t, 0.05, buf=b2, **opts)
        np.testing.assert_array_equal(p1, p2)
        if b1 is None:
            assert b2 is None
        else:
            np.testing.assert_array_equal(b1, b2)
    assert p2.dtype == dt


ADAM_CASES = [dict(), dict(weight_decay=0.1), dict(weight_decay=0.1, decoupled=True),
              dict(amsgrad=True), dict(maximize=True), dict(beta1=0.3)]


@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("opts", ADAM_CASES, ids=lambda o: ",".join(o) or "plain")
def test_adam_kernel_matches_twin_bits(dt, opts, numba_always):
    opts = dict(opts)
    amsgrad = opts.pop("amsgrad", False)
    beta1 = opts.pop("beta1", 0.9)  # 0.3: the other branch of the two-sided lerp
    p, g, m, v, vmax = _arrays(dt, seed=1)
    a = [p.copy(), m.copy(), v.copy(), vmax.copy() if amsgrad else None]
    b = [p.copy(), m.copy(), v.copy(), vmax.copy() if amsgrad else None]
    for step in (1, 2, 3):
        g_t = g * dt(step)
        twin.adam_step(a[0], g_t, a[1], a[2], a[3], float(step), 1e-2, beta1, 0.999, 1e-8, **opts)
        fused.adam_step(b[0], g_t, b[1], b[2], b[3], float(step), 1e-2, beta1, 0.999, 1e-8,
                        **opts)
        for x, y in zip(a, b):
            if x is not None:
                np.testing.assert_array_equal(x, y)


def test_serial_and_parallel_variants_identical(numba_always):
    from autonn.kernels import _optim_numba as onb
    p, g, m, v, _ = _arrays(np.float32, n=20000)
    T = np.float32
    outs = []
    for variant in (onb.adam_update.ser, onb.adam_update.par):
        pp, mm, vv = p.copy(), m.copy(), v.copy()
        variant(pp, g, mm, vv, pp, False, T(1), False, T(0), T(0.1), T(0.9), True, T(0.999),
                T(0.001), T(0.5), T(1e-8), T(-0.01), False, False)
        outs.append((pp, mm, vv))
    for x, y in zip(*outs):
        np.testing.assert_array_equal(x, y)


def test_sgd_twin_is_pytorchs_formula():
    # torch.optim.SGD, momentum 0.9, dampening 0.1, weight decay 0.01, nesterov off, by hand
    p = np.array([1.0, -2.0])
    g = np.array([0.5, 0.25])
    buf = twin.sgd_step(p, g, 0.1, 0.01, 0.9, 0.1)
    d = g + 0.01 * np.array([1.0, -2.0])
    np.testing.assert_allclose(buf, d, rtol=0, atol=1e-15)
    np.testing.assert_allclose(p, np.array([1.0, -2.0]) - 0.1 * d, rtol=0, atol=1e-15)
    p_before = p.copy()
    buf = twin.sgd_step(p, g, 0.1, 0.01, 0.9, 0.1, buf=buf)
    d2 = g + 0.01 * p_before
    np.testing.assert_allclose(buf, 0.9 * d + 0.9 * d2, rtol=1e-15)
    np.testing.assert_allclose(p, p_before - 0.1 * buf, rtol=1e-15)


def test_adam_twin_is_pytorchs_formula():
    # two steps of torch.optim.Adam(lr=0.1, betas=(0.9, 0.99), eps=1e-8), by hand
    p0 = np.array([1.0, -3.0])
    g = np.array([0.2, -4.0])
    p, m, v = p0.copy(), np.zeros(2), np.zeros(2)
    twin.adam_step(p, g, m, v, None, 1, 0.1, 0.9, 0.99, 1e-8)
    twin.adam_step(p, g, m, v, None, 2, 0.1, 0.9, 0.99, 1e-8)
    m_ref = 0.1 * g * 0.9 + 0.1 * g
    v_ref = 0.01 * g * g * 0.99 + 0.01 * g * g
    np.testing.assert_allclose(m, m_ref, rtol=1e-14)
    np.testing.assert_allclose(v, v_ref, rtol=1e-14)
    p1 = p0 - 0.1 / 0.1 * (0.1 * g) / (np.sqrt(0.01 * g * g) / np.sqrt(0.01) + 1e-8)
    p2 = p1 - 0.1 / (1 - 0.81) * m_ref / (np.sqrt(v_ref) / np.sqrt(1 - 0.99 ** 2) + 1e-8)
    np.testing.assert_allclose(p, p2, rtol=1e-12)


def test_non_contiguous_and_mixed_dtypes_take_the_twin(numba_always):
    p = np.arange(12.0).reshape(3, 4).T  # F-ordered view: the kernel needs C order
    g = np.ones((4, 3))
    expected = p - 0.5 * g
    fused.sgd_step(p, g, 0.5)
    np.testing.assert_array_equal(p, expected)
    p32, g64 = np.ones(5, np.float32), np.full(5, 2.0)
    fused.sgd_step(p32, g64, 0.25)
    assert p32.dtype == np.float32 and np.all(p32 == 0.5)
