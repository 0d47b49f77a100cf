"""nn.init: bounds, moments (tolerances from the sample size), fans in autonn's layouts, seeds."""
import math

import numpy as np
import pytest

import autonn as an
from autonn.nn import init


def _check_moments(data, mean, var):
    """Sample mean/variance within 6 standard errors (for n draws: sd(mean) = sqrt(var/n),
    sd(var) <= sqrt(2) var / sqrt(n) for the distributions here, whose kurtosis is <= 3)."""
    n = data.size
    assert abs(data.mean() - mean) < 6 * math.sqrt(var / n)
    assert abs(data.var() - var) < 6 * math.sqrt(2) * var / math.sqrt(n)


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01 ** 2))
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError):
        init.calculate_gain("swish")


def test_uniform_normal_constant():
    an.manual_seed(0)
    t = an.empty(200, 100)
    assert init.uniform_(t, -2, 3) is t
    assert t.data.min() >= -2 and t.data.max() < 3
    _check_moments(t.data, 0.5, 25 / 12)
    init.normal_(t, 1.0, 0.5)
    _check_moments(t.data, 1.0, 0.25)
    assert np.all(init.zeros_(t).data == 0) and np.all(init.ones_(t).data == 1)
    assert np.all(init.constant_(t, 0.25).data == 0.25)
    f32 = init.normal_(an.empty(3, dtype=np.float32))
    assert f32.dtype == np.float32


def test_fans_follow_autonn_layouts():
    # 2-D weights are (in_features, out_features): fan_in = shape[0], fan_out = shape[1]
    assert init._calculate_fan_in_and_fan_out(an.empty(30, 7)) == (30, 7)
    # conv weights are PyTorch's (out, in, kh, kw)
    assert init._calculate_fan_in_and_fan_out(an.empty(8, 3, 5, 2)) == (30, 80)
    with pytest.raises(ValueError):
        init.xavier_uniform_(an.empty(5))


def test_xavier():
    an.manual_seed(1)
    w = init.xavier_uniform_(an.empty(300, 200), gain=2.0)
    bound = 2.0 * math.sqrt(6 / 500)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound
    _check_moments(w.data, 0.0, bound ** 2 / 3)
    w = init.xavier_normal_(an.empty(300, 200))
    _check_moments(w.data, 0.0, 2 / 500)


def test_kaiming_uses_fan_in_of_the_row_vector_layout():
    an.manual_seed(2)
    w = init.kaiming_uniform_(an.empty(50, 400), nonlinearity="relu")   # fan_in = 50
    bound = math.sqrt(2) * math.sqrt(3 / 50)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound
    _check_moments(w.data, 0.0, 2 / 50)
    w = init.kaiming_uniform_(an.empty(50, 400), mode="fan_out", nonlinearity="relu")
    assert np.abs(w.data).max() <= math.sqrt(6 / 400)
    w = init.kaiming_normal_(an.empty(400, 50), nonlinearity="relu")      # fan_in = 400
    _check_moments(w.data, 0.0, 2 / 400)
    w = init.kaiming_normal_(an.empty(64, 4, 3, 3), a=0.1)                # fan_in = 36
    _check_moments(w.data, 0.0, (2 / (1 + 0.01)) / 36)
    with pytest.raises(ValueError):
        init.kaiming_normal_(an.empty(3, 3), mode="fan_sideways")


def test_init_is_reproducible_and_works_on_parameters():
    lin = an.nn.Linear(4, 3)
    an.manual_seed(11)
    init.xavier_uniform_(lin.weight)
    a = lin.weight.data.copy()
    an.manual_seed(11)
    init.xavier_uniform_(lin.weight)
    np.testing.assert_array_equal(lin.weight.data, a)
    assert lin.weight.requires_grad and lin.weight.is_leaf
    ld = init.kaiming_uniform_(an.empty(3, 3, dtype=np.longdouble))
    assert ld.dtype == np.longdouble
