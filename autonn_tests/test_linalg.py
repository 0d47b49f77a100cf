"""autonn.linalg beyond the registry's property tests: documented behaviours at the edges,
errors that name the function, and the conventions (NumPy's) the registry does not exercise."""
import numpy as np
import pytest

import autonn as an

L = an.linalg


def test_named_results_unpack_like_numpys():
    a = an.tensor([[2.0, 1.0], [1.0, 3.0]])
    res = L.slogdet(a)
    assert res.sign.item() == 1.0 and res.logabsdet.item() == pytest.approx(np.log(5.0))
    w, v = L.eigh(a)
    assert L.eigh(a).eigenvalues.shape == (2,) and v.shape == (2, 2)
    u, s, vh = L.svd(a)
    np.testing.assert_allclose((u * s.reshape(1, 2)) @ vh, a.data, atol=1e-12)
    q, r = L.qr(a)
    np.testing.assert_allclose((q @ r).data, a.data, atol=1e-12)
    assert L.qr(a, mode="r").shape == (2, 2)


def test_cholesky_gradient_lands_on_the_triangle_it_reads():
    """Symmetrised, it is the gradient through a symmetric parameterisation (X + X^T) / 2."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 3))
    spd = x @ x.T + 3 * np.eye(3)
    w = rng.normal(size=(3, 3))
    a = an.tensor(spd, requires_grad=True)
    (L.cholesky(a) * an.tensor(w)).sum().backward()
    g = a.grad.data
    assert np.all(np.triu(g, 1) == 0)
    s = an.tensor(spd, requires_grad=True)
    (L.cholesky((s + s.T) * 0.5) * an.tensor(w)).sum().backward()
    np.testing.assert_allclose((g + g.T) / 2, s.grad.data, rtol=1e-10, atol=1e-12)


def test_eigenvalue_gradient_exists_at_repeated_eigenvalues():
    """Only the eigenvectors of a repeated eigenvalue are ambiguous: sum(w**2) = ||A||_F^2 has
    gradient 2A (read through the lower triangle)."""
    a = an.tensor(np.eye(3), requires_grad=True)
    (L.eigvalsh(a) ** 2).sum().backward()
    np.testing.assert_allclose(a.grad.data, 2 * np.eye(3))


def test_singular_value_gradient_needs_no_vectors():
    a = an.tensor(np.diag([2.0, 2.0, 1.0]), requires_grad=True)  # a repeated singular value
    L.svd(a, compute_uv=False).sum().backward()  # nuclear norm: gradient U V^T
    np.testing.assert_allclose(a.grad.data, np.eye(3), atol=1e-12)


def test_norm_gradient_at_zero_is_zero_not_nan():
    x = an.zeros(3, requires_grad=True)
    L.norm(x).backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros(3))


def test_matrix_power_zero_is_the_identity_with_zero_gradient():
    a = an.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    p = L.matrix_power(a, 0)
    np.testing.assert_array_equal(p.data, np.eye(2))
    p.sum().backward()
    np.testing.assert_array_equal(a.grad.data, np.zeros((2, 2)))


def test_batched_solve_with_a_vector_right_hand_side_matches_finite_differences():
    rng = np.random.default_rng(2)
    a0 = rng.normal(size=(2, 3, 3)) + 4 * np.eye(3)
    b0 = rng.normal(size=3)
    a, b = an.tensor(a0, requires_grad=True), an.tensor(b0, requires_grad=True)
    w = rng.normal(size=(2, 3))
    (L.solve(a, b) * an.tensor(w)).sum().backward()
    h = 1e-6
    fd_b = np.array([((np.linalg.solve(a0, b0 + h * e) - np.linalg.solve(a0, b0 - h * e)) * w).sum()
                     / (2 * h) for e in np.eye(3)])
    np.testing.assert_allclose(b.grad.data, fd_b, rtol=1e-7)
    expected_a = -np.einsum("bi,bj->bij", np.linalg.solve(np.swapaxes(a0, -1, -2), w[..., None])[..., 0],
                            np.linalg.solve(a0, b0))
    np.testing.assert_allclose(a.grad.data, expected_a, rtol=1e-10)


@pytest.mark.parametrize("call, error, match", [
    (lambda: L.inv(an.ones((2, 3))), np.linalg.LinAlgError, "linalg.inv: expected a square matrix"),
    (lambda: L.inv(an.zeros((2, 2))), np.linalg.LinAlgError, "linalg.inv: Singular matrix"),
    (lambda: L.det(an.ones(3)), np.linalg.LinAlgError, "linalg.det"),
    (lambda: L.solve(an.eye(2), an.ones(3)), ValueError, "linalg.solve: a of shape"),
    (lambda: L.cholesky(-an.eye(2)), np.linalg.LinAlgError, "linalg.cholesky"),
    (lambda: L.svd(an.ones((2, 3), requires_grad=True)), ValueError, "full_matrices=False"),
    (lambda: L.qr(an.ones((2, 3), requires_grad=True)), ValueError, "fewer rows than columns"),
    (lambda: L.norm(an.ones((2, 2)), "bad"), ValueError, "invalid norm order"),
    (lambda: L.norm(an.ones(3), axis=3), ValueError, "axis 3 is out of bounds"),
    (lambda: L.matrix_power(an.eye(2), 1.5), TypeError, "must be an integer"),
    (lambda: L.eigh(an.eye(2), UPLO="X"), ValueError, "UPLO"),
    (lambda: L.inv(an.tensor(np.eye(2, dtype=np.longdouble))), TypeError, "longdouble|float128"),
    (lambda: L.solve_triangular(an.eye(2), an.ones(3)), ValueError, "needs 2 rows"),
    (lambda: L.solve_banded((1, 1), an.ones((2, 3)), an.ones(3)), ValueError, "l \\+ u \\+ 1 = 3 rows"),
    (lambda: L.solve_sylvester(an.eye(2), an.eye(3), an.ones((3, 2))), ValueError, "q must have shape"),
])
def test_bad_inputs_raise_errors_naming_the_function(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_full_svd_without_gradient_is_numpys():
    x = np.arange(6.0).reshape(2, 3)
    u, s, vh = L.svd(an.tensor(x))
    assert vh.shape == (3, 3)
    np.testing.assert_allclose(s.data, np.linalg.svd(x)[1])


def test_integer_input_is_promoted_to_float():
    np.testing.assert_allclose(L.inv(an.tensor([[2, 0], [0, 4]])).data, [[0.5, 0], [0, 0.25]])
