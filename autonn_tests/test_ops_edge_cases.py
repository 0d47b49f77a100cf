"""Edge cases of single ops, each against NumPy or a hand-derived value."""
import numpy as np
import pytest

import autonn as an


@pytest.mark.parametrize("mode", ["maximum", "minimum", "mean", "median", "linear_ramp", "empty"])
def test_pad_modes_without_a_gather_form_are_refused(mode):
    with pytest.raises(ValueError, match=f"pad: mode '{mode}'"):
        an.pad(an.tensor([3.0, 9.0, 1.0]), 2, mode=mode)


def test_split_with_negative_indices_follows_numpy():
    parts = an.split(an.arange(6.0), [-2])
    assert [p.shape for p in parts] == [a.shape for a in np.split(np.arange(6.0), [-2])]


def test_cast_to_integer_leaves_the_graph():
    x = an.tensor([1.7, 2.2], requires_grad=True)
    i = x.astype(np.int64)
    assert not i.requires_grad and i.data.tolist() == [1, 2]


def test_pow_gradients_at_zero_base_match_the_limits():
    x = an.tensor([0.0, 2.0], requires_grad=True)
    p = an.tensor([2.0, 2.0], requires_grad=True)
    (x ** p).sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 4.0])            # p x^(p-1)
    np.testing.assert_allclose(p.grad.data, [0.0, 4 * np.log(2)])  # x^p log x, 0 at x = 0
    z = an.tensor([0.0, 1.0], requires_grad=True)
    (z ** 0).sum().backward()
    np.testing.assert_allclose(z.grad.data, [0.0, 0.0])


def test_longdouble_mean_and_var_are_exact():
    a = np.array([1, 2, 4], dtype=np.longdouble)
    assert an.tensor(a).mean().data == np.mean(a)
    assert an.tensor(a).var().data == np.var(a)


def test_clip_accepts_array_bounds():
    x = an.tensor([-1.0, 0.5, 3.0], requires_grad=True)
    y = an.clip(x, np.zeros(3), np.array([1.0, 1.0, 2.0]))
    np.testing.assert_allclose(y.data, [0.0, 0.5, 2.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="clip: a_min"):
        an.clip(x, np.zeros(2), 1.0)


def test_max_of_nan_routes_the_gradient_to_the_nan():
    x = an.tensor([1.0, np.nan, 3.0], requires_grad=True)
    an.max(x).backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 1.0, 0.0])
