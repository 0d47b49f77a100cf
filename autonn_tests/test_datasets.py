"""The bundled digits and the generated two moons."""
import numpy as np
import pytest

import autonn as an
from autonn.datasets import load_digits, make_moons


def test_digits_shapes_ranges_and_labels():
    X, y = load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.dtype == an.get_default_dtype() and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.unique(X * 16), np.arange(17))  # pixels were 0..16
    counts = np.bincount(y)
    assert len(counts) == 10 and counts.sum() == 1797
    assert counts.min() >= 170 and counts.max() <= 190


def test_digits_known_first_rows_and_dtype():
    X, y = load_digits(dtype=np.float32)
    assert X.dtype == np.float32
    assert y[:10].tolist() == list(range(10))  # sklearn's digits start 0, 1, ..., 9
    assert (X[0] * 16)[:8].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]


def test_digits_returns_fresh_copies():
    X, y = load_digits()
    X[:] = -1
    y[:] = -1
    X2, y2 = load_digits()
    assert X2.min() == 0.0 and y2.min() == 0


def test_digits_a_linear_model_separates_two_classes():
    X, y = load_digits()
    mask = (y == 0) | (y == 1)
    Xa, ya = np.c_[X[mask], np.ones(mask.sum())], (y[mask] == 1) * 2.0 - 1
    w = np.linalg.lstsq(Xa, ya, rcond=None)[0]
    assert np.mean(np.sign(Xa @ w) == ya) > 0.98


@pytest.mark.parametrize("n", [1, 2, 7, 200])
def test_moons_shapes_and_balance(n):
    X, y = make_moons(n)
    assert X.shape == (n, 2) and y.shape == (n,) and y.dtype == np.int64
    assert int((y == 0).sum()) == n // 2 and int((y == 1).sum()) == n - n // 2


def test_moons_geometry_without_noise():
    X, y = make_moons(100, noise=0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)
    assert upper[:, 1].min() >= -1e-12 and lower[:, 1].max() <= 0.5 + 1e-12
    assert X[:, 0].min() == pytest.approx(-1) and X[:, 0].max() == pytest.approx(2)


def test_moons_seed_noise_and_shuffle():
    a, ya = make_moons(50, seed=3)
    b, yb = make_moons(50, seed=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    c, _ = make_moons(50, seed=4)
    assert not np.array_equal(a, c)
    assert 0 < ya[:25].sum() < 25  # shuffled: the classes are mixed
    clean, yc = make_moons(2000, noise=0, seed=0)
    noisy, yn = make_moons(2000, noise=0.1, seed=0)
    np.testing.assert_array_equal(yc, yn)
    assert np.std(noisy - clean) == pytest.approx(0.1, rel=0.1)


def test_moons_bad_arguments():
    with pytest.raises(ValueError):
        make_moons(0)
    with pytest.raises(ValueError):
        make_moons(10, noise=-1)
