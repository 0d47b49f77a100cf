"""NumPy's array functions beyond what the registry's property suite checks: gradients at zeros
(hand-derived), einsum's backward made of einsums, the integer-valued functions, edge cases."""
import numpy as np
import pytest

import autonn as an


def test_prod_gradient_with_one_zero_is_the_product_of_the_others():
    x = an.tensor([2.0, 0.0, 3.0, 5.0], requires_grad=True)
    (g,) = an.grad(an.prod(x), x, create_graph=True)
    np.testing.assert_array_equal(g.data, [0.0, 30.0, 0.0, 0.0])
    # second derivative d2/dx1 dxj = product of the two others: [15, 0, 10, 6]
    (h,) = an.grad(g[1], x)
    np.testing.assert_array_equal(h.data, [15.0, 0.0, 10.0, 6.0])


def test_prod_gradient_with_two_zeros_is_zero_but_the_hessian_is_not():
    x = an.tensor([0.0, 4.0, 0.0], requires_grad=True)
    (g,) = an.grad(an.prod(x), x, create_graph=True)
    np.testing.assert_array_equal(g.data, [0.0, 0.0, 0.0])
    (h,) = an.grad(g[0], x)
    np.testing.assert_array_equal(h.data, [0.0, 0.0, 4.0])  # d2/dx0 dx2 = x1


def test_prod_over_axes_with_zeros():
    a = np.array([[1.0, 0.0, 2.0], [3.0, 4.0, 0.0]])
    x = an.tensor(a, requires_grad=True)
    an.prod(x, axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 2.0, 0.0], [0.0, 0.0, 12.0]])


def test_cumprod_gradient_at_zeros():
    # d/dxj sum_k prod_{i<=k} x_i, with x = [2, 0, 3]: [1 + 0 + 0, 2 + 2*3, 0]
    x = an.tensor([2.0, 0.0, 3.0], requires_grad=True)
    an.cumprod(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 8.0, 0.0])


def test_einsum_backward_is_einsums_and_differentiates_again():
    a = an.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    b = an.tensor(np.arange(3.0), requires_grad=True)
    out = an.einsum("ij,j->i", a, b)
    (ga, gb) = an.grad(out.sum(), (a, b), create_graph=True)
    assert ga.grad_fn.name == "Einsum" and gb.grad_fn.name == "Einsum"
    np.testing.assert_array_equal(ga.data, np.tile(b.data, (2, 1)))
    (hb,) = an.grad((ga * ga).sum(), b)  # d/db sum_ij b_j^2 = 2 * 2 b
    np.testing.assert_array_equal(hb.data, 4 * b.data)


def test_einsum_errors_name_the_op():
    with pytest.raises(ValueError, match="einsum: index 'j' has lengths 3 and 4"):
        an.einsum("ij,jk", an.ones((2, 3)), an.ones((4, 2)))
    with pytest.raises(ValueError, match="einsum: 2 operand subscripts for 1 operands"):
        an.einsum("ij,jk", an.ones((2, 3)))


def test_sort_routes_gradients_by_the_permutation():
    x = an.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]], requires_grad=True)
    w = np.array([[1.0, 10.0, 100.0], [1.0, 10.0, 100.0]])
    (an.sort(x, axis=1) * an.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[100.0, 1.0, 10.0], [1.0, 100.0, 10.0]])


def test_partition_matches_numpys_arrangement():
    a = np.random.default_rng(3).permutation(20).astype(float)
    for kth in (0, 7, 19, [3, 11]):
        np.testing.assert_array_equal(an.partition(an.tensor(a), kth).data, np.partition(a, kth))


@pytest.mark.parametrize("fn, args", [
    (an.argsort, ([3.0, 1.0],)), (an.argpartition, ([3.0, 1.0, 2.0], 1)),
    (an.searchsorted, ([1.0, 2.0], [1.5])), (an.argwhere, ([0.0, 1.0],)),
    (an.flatnonzero, ([0.0, 1.0],)), (lambda x: an.nonzero(x)[0], ([0.0, 1.0],)),
])
def test_integer_valued_functions_return_integer_tensors_without_a_graph(fn, args):
    args = (an.tensor(args[0], requires_grad=True),) + args[1:]
    out = fn(*args)
    assert isinstance(out, an.Tensor) and out.dtype.kind == "i" and not out.requires_grad


def test_linspace_is_differentiable_in_its_ends():
    start, stop = an.tensor(1.0, requires_grad=True), an.tensor(3.0, requires_grad=True)
    out, step = an.linspace(start, stop, 5, retstep=True)
    np.testing.assert_allclose(out.data, np.linspace(1.0, 3.0, 5))
    assert step.item() == 0.5
    (out * an.tensor([1.0, 0.0, 0.0, 0.0, 2.0])).sum().backward()
    assert start.grad.item() == 1.0 and stop.grad.item() == 2.0


def test_full_with_a_tensor_fill_value_keeps_the_graph():
    v = an.tensor(2.0, requires_grad=True)
    an.full((2, 3), v).sum().backward()
    assert v.grad.item() == 6.0


def test_gradient_refuses_coordinate_arrays_by_name():
    with pytest.raises(TypeError, match="gradient: only scalar"):
        an.gradient(an.ones(4), np.arange(4.0))


def test_average_with_zero_weights_raises_as_numpy():
    with pytest.raises(ZeroDivisionError, match="average"):
        an.average(an.ones(2), weights=an.zeros(2))


def test_split_into_absurdly_many_pieces_is_refused_at_once():
    for fn in (an.split, an.array_split):
        with pytest.raises(ValueError, match="would build"):
            fn(an.ones(3), 10 ** 12)


def test_np_integer_axes_are_accepted():
    x = an.ones((2, 3))
    assert an.sum(x, axis=np.int64(1)).shape == (2,)
    assert an.transpose(x, (np.int64(1), np.int64(0))).shape == (3, 2)
