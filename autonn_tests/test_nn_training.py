"""End to end: small networks trained with plain SGD (written here, on .data) reach low loss."""
import numpy as np

import autonn as an
from autonn import nn


def _sgd(model, lr):
    with an.no_grad():
        for p in model.parameters():
            p.data -= lr * p.grad.data
    model.zero_grad()


def _xor_data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    return X, y


def test_mlp_learns_xor_with_cross_entropy():
    an.manual_seed(0)
    X, y = _xor_data()
    net = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.1), nn.Linear(32, 32), nn.ReLU(),
                        nn.Linear(32, 2))
    loss_fn = nn.CrossEntropyLoss()
    x, t = an.tensor(X), an.tensor(y)
    first = None
    for _step in range(600):
        loss = loss_fn(net(x), t)
        first = first if first is not None else loss.item()
        loss.backward()
        _sgd(net, 0.5)
    assert loss.item() < 0.1 < first
    acc = (np.argmax(net(x).data, axis=1) == y).mean()
    assert acc > 0.97
    # the compressed network makes the same predictions
    np.testing.assert_allclose(nn.compress(net.eval())(x).data, net(x).data, rtol=1e-9, atol=1e-9)


def test_float32_regression_with_batchnorm_and_dropout():
    an.manual_seed(1)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((128, 3)).astype(np.float32)
    Y = (np.sin(X[:, :1]) + 0.5 * X[:, 1:2] * X[:, 2:3]).astype(np.float32)
    net = nn.Sequential(nn.Linear(3, 32, dtype=np.float32), nn.BatchNorm1d(32, dtype=np.float32),
                        nn.ReLU(), nn.Dropout(0.05), nn.Linear(32, 1, dtype=np.float32))
    loss_fn = nn.MSELoss()
    x, target = an.tensor(X), an.tensor(Y)
    for _step in range(400):
        loss = loss_fn(net(x), target)
        assert loss.dtype == np.float32
        loss.backward()
        _sgd(net, 0.1)
    net.eval()
    start = float(np.mean((Y - Y.mean()) ** 2))  # the loss of the best constant predictor
    final = loss_fn(net(x), target).item()
    assert final < 0.1 * start, (final, start)
