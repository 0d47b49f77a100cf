"""NumPy's functions and Python's protocols on Tensors (``autonn._dispatch``).

Oracles: values from NumPy on the plain arrays, gradients from central finite differences
(``_fd.numeric_grad`` on fresh tensors) or derived by hand.
"""
import sys
import types

import numpy as np
import pytest

import autonn as an
from autonn import _dispatch
from autonn_tests._fd import numeric_grad


def fd_grad(f, x0):
    """d f(tensor(x)) / dx by central differences, on fresh tensors (no graph involved)."""
    x = np.array(x0, dtype=np.float64)
    return numeric_grad(lambda: float(f(an.tensor(x)).item()), x)


def grad_of(f, x0):
    x = an.tensor(np.array(x0, dtype=np.float64), requires_grad=True)
    f(x).backward()
    return x.grad.data


@pytest.fixture
def fresh_table():
    """The table read again after the test changed what autonn exports."""
    _dispatch._reset()
    yield
    _dispatch._reset()


# ----- the examples -----
def test_np_exp_keeps_the_gradient():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    y = np.exp(x)
    assert isinstance(y, an.Tensor) and y.grad_fn is not None
    np.testing.assert_allclose(y.data, np.exp([1.0, 2.0]), rtol=1e-15)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.exp([1.0, 2.0]), rtol=1e-15)  # d e^x = e^x


@pytest.mark.skipif(not hasattr(an, "remainder"), reason="an.remainder is another branch's op")
def test_remainder_by_an_array_has_gradient_one():
    g = an.func.grad(lambda t: an.sum(t % np.array([1.7, 0.9])))(an.tensor([2.3, 1.3]))
    np.testing.assert_allclose(g.data, [1.0, 1.0])  # x - floor(x/y) y: slope 1 off the jumps
    g = an.func.grad(lambda t: an.sum(np.array([1.7, 0.9]) % t))(an.tensor([1.3, 0.4]))
    # 1.7 % 1.3 = 1.7 - 1.3, 0.9 % 0.4 = 0.9 - 2 * 0.4: the slope is -floor(a / t)
    np.testing.assert_allclose(g.data, [-1.0, -2.0])


def test_std_of_one_element_has_gradient_zero():
    g = an.func.grad(an.std)(an.tensor(3.5))
    assert g.data == 0.0 and np.isfinite(g.data)


def test_std_gradient_at_and_away_from_zero_variance():
    equal = an.func.grad(an.std)(an.tensor([2.0, 2.0, 2.0]))
    np.testing.assert_array_equal(equal.data, [0.0, 0.0, 0.0])  # a subgradient, not nan
    h = an.func.hessian(an.std)(an.tensor([2.0, 2.0]))
    assert np.all(np.isfinite(h.data))
    x0 = np.array([[1.0, 4.0, 2.0], [3.0, 3.0, 3.0]])  # second row: zero variance
    def f(t):
        return an.sum(an.std(t, axis=1, ddof=1) * an.tensor([1.0, 1.0]))

    g = grad_of(f, x0)
    np.testing.assert_allclose(g[0], fd_grad(lambda t: an.std(t[0], ddof=1), x0)[0], rtol=1e-6)
    np.testing.assert_array_equal(g[1], [0.0, 0.0, 0.0])
    # away from zero variance the value is NumPy's
    np.testing.assert_allclose(an.std(an.tensor(x0), axis=1).data, np.std(x0, axis=1), rtol=1e-15)


# ----- functions autonn implements dispatch and keep the graph -----
def test_numpy_written_function_differentiates_as_finite_differences():
    def f(t):  # NumPy code, unchanged
        z = np.sqrt(np.exp(t) + 1.0) * np.sin(t) - np.tanh(t) ** 2
        return np.sum(np.mean(z, axis=1)) + np.max(t) + np.sum(np.transpose(t) @ t)

    x0 = np.array([[0.3, -1.2, 0.7], [1.1, 0.4, -0.5]])
    np.testing.assert_allclose(grad_of(f, x0), fd_grad(f, x0), rtol=1e-6, atol=1e-8)


def test_np_sum_with_axis_and_keepdims():
    x0 = np.arange(6.0).reshape(2, 3)
    x = an.tensor(x0, requires_grad=True)
    y = np.sum(x, axis=1, keepdims=True)
    assert isinstance(y, an.Tensor) and y.shape == (2, 1)
    np.testing.assert_array_equal(y.data, np.sum(x0, axis=1, keepdims=True))
    (y * an.tensor([[1.0], [2.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[1, 1, 1], [2, 2, 2]])


def test_numpy_default_values_are_accepted_other_arguments_are_not():
    x = an.tensor([1.0, 2.0, 4.0], requires_grad=True)
    y = np.sum(x, axis=0, dtype=None, out=None)  # NumPy's defaults: nothing asked of autonn
    assert y.grad_fn is not None and y.item() == 7.0
    with pytest.raises(TypeError, match=r"numpy\.sum .*dtype"):
        np.sum(x, dtype=np.float32)
    z = np.sum(x.detach(), dtype=np.float32)  # no gradient to lose: NumPy's answer
    assert isinstance(z, an.Tensor) and z.dtype == np.float32 and z.item() == 7.0


def test_positional_arguments_follow_numpy_signature():
    x0 = np.array([[1.0, 2.0], [4.0, 8.0]])
    x = an.tensor(x0, requires_grad=True)
    np.testing.assert_allclose(np.std(x, 0, None, None, 1).data, np.std(x0, 0, ddof=1))
    np.testing.assert_array_equal(np.reshape(x, (4,)).data, x0.reshape(4))
    np.testing.assert_array_equal(np.clip(x, 1.5, 5.0).data, np.clip(x0, 1.5, 5.0))
    np.testing.assert_array_equal(np.where(x0 > 2, x, 0.0).data, np.where(x0 > 2, x0, 0.0))
    parts = np.split(x, 2, axis=1)
    assert [p.shape for p in parts] == [(2, 1), (2, 1)] and parts[1].grad_fn is not None
    assert np.stack([x, x], axis=2).shape == (2, 2, 2)
    assert np.concatenate([x, x], axis=1).grad_fn is not None


def test_ndarray_operator_tensor_returns_a_tensor_with_the_graph():
    a = np.array([2.0, 3.0])
    for op, da in [(lambda t: a + t, 1.0), (lambda t: a - t, -1.0), (lambda t: a * t, a),
                   (lambda t: a / t, None), (lambda t: a ** t, None)]:
        x = an.tensor([0.5, 1.5], requires_grad=True)
        y = op(x)
        assert isinstance(y, an.Tensor) and y.grad_fn is not None
        np.testing.assert_allclose(y.data, op(np.array([0.5, 1.5])), rtol=1e-15)
        y.sum().backward()
        expected = fd_grad(lambda t, op=op: op(t).sum(), [0.5, 1.5]) if da is None \
            else np.broadcast_to(da, 2)
        np.testing.assert_allclose(x.grad.data, expected, rtol=1e-6)
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = an.tensor([1.0, -1.0], requires_grad=True)
    (m @ x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, m.sum(axis=0))  # d sum(m x) / dx = column sums
    s = np.float64(2.0) * x  # a NumPy scalar on the left too
    assert isinstance(s, an.Tensor) and s.grad_fn is not None


def test_every_unary_ufunc_in_the_table_matches_the_autonn_function():
    """np.f(t) is an.f(t): same values, same node, same gradient (f's own correctness is the
    property suite's job)."""
    x0 = np.array([0.2, 0.45, 0.7])
    unary = [(f, fn) for f, fn in _dispatch.table().items()
             if isinstance(f, np.ufunc) and f.nin == 1 and f.nout == 1]
    assert len(unary) >= 10
    for f, fn in unary:
        with np.errstate(all="ignore"):
            try:
                expected = fn(an.tensor(x0, requires_grad=True))
            except TypeError:  # e.g. no gradient rule for this dtype: dispatch must fail alike
                with pytest.raises(TypeError):
                    f(an.tensor(x0, requires_grad=True))
                continue
            x = an.tensor(x0, requires_grad=True)
            y = f(x)
            assert isinstance(y, an.Tensor), f
            np.testing.assert_array_equal(y.data, expected.data, err_msg=str(f))
            if y.grad_fn is not None:
                y.sum().backward()
                x2 = an.tensor(x0, requires_grad=True)
                fn(x2).sum().backward()
                np.testing.assert_array_equal(x.grad.data, x2.grad.data, err_msg=str(f))


def test_numpys_names_of_arithmetic_keep_the_graph():
    """np.subtract, np.multiply, np.divide... reach autonn through ops.numpy_names."""
    x0 = np.array([1.5, -2.0])
    x = an.tensor(x0, requires_grad=True)
    y = (np.subtract(np.multiply(x, 3.0), np.true_divide(x, 2.0)) + np.divide(x, 4.0)
         + np.power(x, 2) + np.negative(x) + np.absolute(x))
    assert isinstance(y, an.Tensor) and y.grad_fn is not None
    np.testing.assert_allclose(y.data, 3 * x0 - x0 / 2 + x0 / 4 + x0 ** 2 - x0 + np.abs(x0), rtol=1e-15)
    y.sum().backward()
    # d/dx: 3 - 1/2 + 1/4 + 2x - 1 + sign(x)
    np.testing.assert_allclose(x.grad.data, 3 - 0.5 + 0.25 + 2 * x0 - 1 + np.sign(x0), rtol=1e-15)


def test_np_fft_dispatches():
    x0 = np.array([1.0, 2.0, 0.5, -1.0])
    x = an.tensor(x0, requires_grad=True)
    y = np.fft.fft(x)
    assert isinstance(y, an.Tensor) and y.grad_fn is not None
    np.testing.assert_allclose(y.data, np.fft.fft(x0), atol=1e-12)
    an.real(y).sum().backward()  # sum_k Re X_k = N x_0
    np.testing.assert_allclose(x.grad.data, [4.0, 0.0, 0.0, 0.0], atol=1e-12)


@pytest.mark.skipif(not hasattr(an, "einsum"), reason="an.einsum is another branch's op")
def test_np_einsum_dispatches():
    a0, b0 = np.arange(6.0).reshape(2, 3), np.arange(3.0) + 1
    a = an.tensor(a0, requires_grad=True)
    y = np.einsum("ij,j->i", a, b0)
    assert isinstance(y, an.Tensor)
    np.testing.assert_allclose(y.data, a0 @ b0)
    y.sum().backward()
    np.testing.assert_allclose(a.grad.data, np.broadcast_to(b0, (2, 3)))


def test_linalg_norm_dispatches():
    x0 = np.array([3.0, -4.0])
    x = an.tensor(x0, requires_grad=True)
    y = np.linalg.norm(x)
    assert y.item() == pytest.approx(5.0)
    y.backward()
    np.testing.assert_allclose(x.grad.data, x0 / 5.0)  # d |x| = x / |x|


# ----- ufunc methods -----
def test_ufunc_reduce_outer():
    x0 = np.array([[1.0, 5.0], [3.0, 2.0]])
    x = an.tensor(x0, requires_grad=True)
    y = np.add.reduce(x)  # NumPy's default axis 0
    np.testing.assert_array_equal(y.data, x0.sum(axis=0))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 2)))
    m = np.maximum.reduce(x, axis=1)
    np.testing.assert_array_equal(m.data, [5.0, 3.0])
    a, b = an.tensor([1.0, 2.0], requires_grad=True), an.tensor([3.0, 4.0, 5.0], requires_grad=True)
    o = np.multiply.outer(a, b)
    np.testing.assert_array_equal(o.data, np.multiply.outer([1.0, 2.0], [3.0, 4.0, 5.0]))
    o.sum().backward()  # d/da_i sum_ij a_i b_j = sum_j b_j, and d/db_j = sum_i a_i
    np.testing.assert_array_equal(a.grad.data, [12.0, 12.0])
    np.testing.assert_array_equal(b.grad.data, [3.0, 3.0, 3.0])


# ----- what autonn does not implement -----
def _first_missing(*funcs):
    table = _dispatch.table()
    return next(f for f in funcs if f not in table)


def test_unimplemented_function_on_a_requires_grad_tensor_raises_naming_it():
    f = _first_missing(np.median, np.percentile, np.nanmedian)
    x = an.tensor([1.0, 2.0, 4.0], requires_grad=True)
    args = (x,) if f is not np.percentile else (x, 50)
    with pytest.raises(TypeError, match=rf"numpy\.{f.__name__} is not implemented by autonn"):
        f(*args)
    with an.no_grad():  # no graph to lose
        assert f(*args).item() == 2.0
    r = f(*((x.detach(),) + args[1:]))  # no gradient: NumPy's value, as a Tensor
    assert isinstance(r, an.Tensor) and r.item() == 2.0 and not r.requires_grad


def test_a_requires_grad_tensor_inside_a_list_is_found():
    f = _first_missing(np.block, np.meshgrid, np.broadcast_arrays)
    x = an.tensor([1.0, 2.0], requires_grad=True)
    args = ([[x, x]],) if f is np.block else (x, an.tensor([3.0]))
    with pytest.raises(TypeError, match=rf"numpy\.{f.__name__}"):
        f(*args)


def test_results_without_floating_values_are_returned_for_requires_grad_tensors():
    x = an.tensor([3.0, 1.0, 2.0], requires_grad=True)
    order = np.argsort(x)
    assert isinstance(order, an.Tensor) and not order.requires_grad
    np.testing.assert_array_equal(order.data, [1, 2, 0])
    assert np.shape(x) == (3,) and np.ndim(x) == 1
    assert np.allclose(x, x) is True
    np.testing.assert_array_equal(np.isnan(x).data, [False, False, False])


def test_conversion_inside_numpy_raises_but_np_asarray_is_explicit():
    x = an.tensor([1.0, 3.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"numpy\.mean converted a Tensor that requires grad"):
        np.mean([x, x + 2])
    assert np.asarray(x) is x.data  # the user's own conversion: the data, not a copy
    c = np.array(x)
    np.testing.assert_array_equal(c, x.data)
    assert c is not x.data
    assert np.asarray(x, dtype=np.float32).dtype == np.float32
    with an.no_grad():
        assert np.mean([x, x]) == 2.0
    np.testing.assert_allclose(x, [1.0, 3.0])  # numpy.testing converts: allowed


def test_out_argument():
    a = np.array([1.0, 2.0])
    x = an.tensor([0.5, 0.25], requires_grad=True)
    with pytest.raises(TypeError, match=r"numpy\.add\(\.\.\., out=\.\.\.\)"):
        np.add(a, x, out=np.empty(2))
    with pytest.raises(TypeError, match="out="):
        np.sum(x, out=np.empty(()))
    t = an.tensor([0.5, 0.25])
    buf = np.zeros(2)
    assert np.add(a, t, out=buf) is buf
    np.testing.assert_array_equal(buf, [1.5, 2.25])
    dst = an.zeros(2)
    assert np.multiply(a, t, out=dst) is dst
    np.testing.assert_array_equal(dst.data, [0.5, 0.5])
    with an.no_grad():
        assert np.add(x, 1.0, out=x) is x  # in place, as NumPy, when no graph is recorded
    np.testing.assert_array_equal(x.data, [1.5, 1.25])
    total = np.zeros(())
    assert np.sum(t, out=total) is total and total == 0.75
    acc = np.zeros(2)
    acc += t  # an ndarray's augmented operator: out=acc
    np.testing.assert_array_equal(acc, [0.5, 0.25])


def test_foreign_array_types_are_left_to_their_own_protocol():
    class Foreign:
        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            return "foreign"

        def __array_function__(self, func, types, args, kwargs):
            return "foreign"

    assert np.add(an.ones(2), Foreign()) == "foreign"
    assert np.concatenate([an.ones(2), Foreign()]) == "foreign"


# ----- one table, read from __all__ -----
def test_table_is_every_numpy_name_in_the_ops_all():
    from autonn import ops
    table = _dispatch.table()
    for name in ops.__all__:
        target = getattr(np, name, None)
        if callable(target) and not isinstance(target, type):
            same = {getattr(ops, n) for n in ops.__all__ if getattr(np, n, None) is target}
            assert table.get(target) in same, name  # (np.conj is np.conjugate: either name)
    import autonn.fft
    for name in autonn.fft.__all__:
        if hasattr(np.fft, name) and name in autonn.ops.fft.__all__:
            assert table[getattr(np.fft, name)] is getattr(autonn.fft, name)


def test_a_new_op_is_picked_up_from_all(monkeypatch, fresh_table):
    from autonn import ops
    calls = []

    def trapz_like(y, x=None, dx=1.0, axis=-1):
        calls.append((y, dx))
        return an.sum(y) * dx

    target = np.trapezoid
    monkeypatch.setattr(ops, "trapezoid", trapz_like, raising=False)
    monkeypatch.setattr(ops, "__all__", list(ops.__all__) + ["trapezoid"])
    _dispatch._reset()
    x = an.tensor([1.0, 2.0], requires_grad=True)
    y = target(x, dx=0.5)
    assert calls and calls[0][1] == 0.5 and y.grad_fn is not None


def test_scipy_special_ufuncs_dispatch_to_autonn_special(monkeypatch, fresh_table):
    special = pytest.importorskip("scipy.special")
    fake = types.ModuleType("autonn.special")
    fake.__all__ = ["erf"]
    fake.erf = lambda x: an.exp(x)  # a stand-in, to see which function ran
    monkeypatch.setitem(sys.modules, "autonn.special", fake)
    _dispatch._reset()
    x = an.tensor([0.5], requires_grad=True)
    y = special.erf(x)
    np.testing.assert_allclose(y.data, np.exp([0.5]))
    assert y.grad_fn is not None


# ----- sequences of Tensors -----
def test_an_mean_of_a_list_of_tensors():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    y = an.mean([x, x + 2])
    assert y.item() == pytest.approx(np.mean([[1.0, 2.0], [3.0, 4.0]]))
    y.backward()
    np.testing.assert_allclose(x.grad.data, [0.5, 0.5])  # each x_i appears twice among 4


def test_nested_sequences_with_scalars_stack_differentiably():
    a = an.tensor(2.0, requires_grad=True)
    b = an.tensor(3.0, requires_grad=True)
    m = an.as_tensor([[a, 1.0], (4.0, b)])
    np.testing.assert_array_equal(m.data, [[2.0, 1.0], [4.0, 3.0]])
    an.sum(m * m).backward()  # d/da a^2 = 2a
    assert a.grad.item() == 4.0 and b.grad.item() == 6.0
    assert an.as_tensor([a, 1.0], dtype=np.float32).dtype == np.float32
    plain = an.as_tensor([1.0, 2.0])  # no Tensor inside: NumPy's conversion, unchanged
    assert plain.grad_fn is None and plain.dtype == np.float64
    c = an.tensor([1.0, 2.0], requires_grad=True)
    (c * [c, c]).sum().backward()  # a list operand of an op
    np.testing.assert_array_equal(c.grad.data, [4.0, 8.0])


# ----- Python protocols -----
def test_floordiv_mod_divmod_round_call_autonn_ops(monkeypatch):
    """The protocol methods call autonn's ops (whatever their rules): a wiring test."""
    from autonn import ops
    seen = []

    def recorder(name):
        def op(*args):
            seen.append((name, args))
            return name
        return op

    for name in ("remainder", "floor_divide", "round"):
        monkeypatch.setattr(ops, name, recorder(name), raising=False)
    x = an.tensor([5.0])
    assert x % 2 == "remainder" and seen[-1] == ("remainder", (x, 2))
    assert 7 % x == "remainder" and seen[-1] == ("remainder", (7, x))
    assert x // 2 == "floor_divide" and seen[-1] == ("floor_divide", (x, 2))
    assert 7 // x == "floor_divide" and seen[-1] == ("floor_divide", (7, x))
    assert divmod(x, 2) == ("floor_divide", "remainder")
    assert divmod(7, x) == ("floor_divide", "remainder") and seen[-1] == ("remainder", (7, x))
    assert round(x) == "round" and seen[-1] == ("round", (x, 0))
    assert round(x, 2) == "round" and seen[-1] == ("round", (x, 2))


@pytest.mark.skipif(not hasattr(an, "floor_divide"), reason="an.floor_divide is another branch's op")
def test_floordiv_mod_values_as_numpy():
    a0, b0 = np.array([7.5, -7.5, 3.0]), np.array([2.0, 2.0, -0.7])
    a, b = an.tensor(a0), an.tensor(b0)
    np.testing.assert_array_equal((a // b).data, a0 // b0)
    np.testing.assert_array_equal((a % b).data, a0 % b0)
    q, r = divmod(a, b)
    np.testing.assert_array_equal(q.data, np.floor_divide(a0, b0))
    np.testing.assert_array_equal(r.data, np.remainder(a0, b0))
    np.testing.assert_array_equal(round(an.tensor([0.5, 1.5, 2.567]), 1).data,
                                  np.round([0.5, 1.5, 2.567], 1))


def test_abs_and_pow_protocols():
    x = an.tensor([-2.0, 3.0], requires_grad=True)
    (abs(x) + pow(x, 2) + pow(2.0, x)).sum().backward()
    # d|x| = sign x; d x^2 = 2x; d 2^x = 2^x ln 2
    np.testing.assert_allclose(x.grad.data, np.sign([-2, 3]) + 2 * np.array([-2, 3])
                               + 2.0 ** np.array([-2, 3]) * np.log(2), rtol=1e-14)
    with pytest.raises(TypeError):
        pow(x, 2, 5)  # NumPy arrays refuse a modulus too


def test_format_and_one_element_conversions():
    assert format(an.tensor(3.14159), ".4f") == "3.1416"
    assert format(an.tensor([[2.5]]), ".2e") == format(2.5, ".2e")
    assert f"{an.tensor([1.0, 2.0], requires_grad=True)}" == str(an.tensor([1.0, 2.0], requires_grad=True))
    with pytest.raises(TypeError, match=r"one-element tensor.*\(2,\)"):
        format(an.tensor([1.0, 2.0]), ".4f")
    one = an.tensor([2.75])
    assert float(one) == 2.75 and int(one) == 2 and bool(one) is True
    assert complex(one) == 2.75 + 0j
    assert complex(an.tensor(1 + 2j)) == 1 + 2j
    for convert in (float, int, bool, complex):
        with pytest.raises(ValueError, match=r"\(2,\)"):
            convert(an.tensor([1.0, 2.0]))


def test_ufunc_at_is_in_place():
    x = an.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"numpy\.add\.at"):
        np.add.at(x, [0, 0], 1.0)
    np.testing.assert_array_equal(x.data, [1.0, 2.0, 3.0])  # nothing written
    t = an.tensor([1.0, 2.0, 3.0])
    assert np.add.at(t, [0, 0, 2], 1.0) is None
    np.testing.assert_array_equal(t.data, [3.0, 2.0, 4.0])  # repeated indices accumulate


def test_numpy_functions_autonn_reexports_are_not_dispatched_to_themselves():
    assert np.fft.fftfreq not in _dispatch.table()
    np.testing.assert_allclose(np.fft.fftfreq(4, d=an.tensor(0.5)).data, np.fft.fftfreq(4, 0.5))


def test_linalg_results_keep_the_graph():
    a0 = np.array([[2.0, 1.0], [1.0, 3.0]])
    a = an.tensor(a0, requires_grad=True)
    sign, logdet = np.linalg.slogdet(a)
    assert sign.item() == 1.0
    logdet.backward()  # d log|det A| = A^-T
    np.testing.assert_allclose(a.grad.data, np.linalg.inv(a0).T, rtol=1e-12)


def test_a_call_autonn_cannot_take_goes_to_numpy_or_raises():
    cond = an.tensor([True, False, True])
    idx = np.where(cond)  # NumPy's one-argument where: indices, no gradient involved
    np.testing.assert_array_equal(idx[0].data, [0, 2])
    x = an.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"numpy\.max is implemented by autonn, but not for this "
                                        r"call \(it does not take initial=5\.0\)"):
        np.max(x, initial=5.0)
