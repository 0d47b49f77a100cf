"""The seed's builder API (autonn.simple) against plain NumPy forward and backward passes."""
import numpy as np
import pytest

import autonn as an
from autonn.datasets import make_moons
from autonn.simple import MAGIC, FullyConnectedLayer, Network, NNBuilder

i = lambda x: x  # noqa: E731  (the seed's own spelling)
i_ = lambda x: 1  # noqa: E731


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_deriv(z):
    s = sigmoid(z)
    return s * (1 - s)


def relu(z):
    return np.maximum(z, 0)


def relu_deriv(Y, G):
    return G * (Y > 0)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def delta_cross_entropy(Y, G):
    return (Y - G) / Y.shape[0]


def write_text(path, layers, dtype_line=None):
    lines = [MAGIC]
    if dtype_line:
        lines.append(dtype_line)
    for k, (W, b) in enumerate(layers):
        lines.append(f"layer {k} in {W.shape[0]} out {W.shape[1]}")
        lines.append("W")
        lines += [" ".join(repr(float(x)) for x in row) for row in W]
        lines.append("b")
        lines.append(" ".join(repr(float(x)) for x in b))
    path.write_text("\n".join(lines) + "\n")
    return path


def random_layers(dims, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((a, b)), rng.standard_normal(b)) for a, b in dims]


# ----------------------------------------------------------------------------- the seed's snippet
def test_seed_snippet_identity_network_folds_to_one_affine_map(tmp_path):
    (W1, b1), (W2, b2), (W3, b3) = layers = random_layers([(5, 3), (3, 4), (4, 2)])
    path = write_text(tmp_path / "net.txt", layers)
    net = NNBuilder().load([i, i, i], [i_, i_, i_], path, [FullyConnectedLayer] * 3, 5)
    X = np.random.default_rng(1).standard_normal((7, 5))
    want = X @ W1 @ W2 @ W3 + (b1 @ W2 @ W3 + b2 @ W3 + b3)
    got = net.predict(X)
    assert isinstance(got, np.ndarray) and got.shape == (7, 2)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_load_reads_exact_values_and_comments(tmp_path):
    text = (f"{MAGIC}\n\n# a comment\nlayers 1\nlayer 0 in 2 out 3\nW\n"
            "0.1 -2.5e-3 7\n  1e300   -0 nan\nb\n0.30000000000000004 inf -inf\n")
    (tmp_path / "n.txt").write_text(text)
    net = NNBuilder().load([i], [i_], tmp_path / "n.txt", [FullyConnectedLayer], 2)
    W, b = net.layers[0].W.data, net.layers[0].b.data
    assert W[0].tolist() == [0.1, -2.5e-3, 7.0] and W[1, 0] == 1e300 and np.isnan(W[1, 2])
    assert b.tolist() == [0.30000000000000004, np.inf, -np.inf]


# ----------------------------------------------------------------------------- training
def forward_np(layers, X):
    """Plain NumPy forward of the relu / sigmoid / softmax network, keeping intermediates."""
    (W1, b1), (W2, b2), (W3, b3) = layers
    z1 = X @ W1 + b1
    a1 = relu(z1)
    z2 = a1 @ W2 + b2
    a2 = sigmoid(z2)
    Y = softmax(a2 @ W3 + b3)
    return z1, a1, z2, a2, Y


def test_one_train_step_equals_hand_backprop(tmp_path):
    layers = random_layers([(4, 6), (6, 5), (5, 3)], seed=3)
    rng = np.random.default_rng(4)
    X = rng.standard_normal((8, 4))
    G = np.eye(3)[rng.integers(0, 3, 8)]
    lr = 0.3
    net = NNBuilder().load([relu, sigmoid, softmax], [relu_deriv, sigmoid_deriv,
                                                      delta_cross_entropy],
                           write_text(tmp_path / "n.txt", layers), [FullyConnectedLayer] * 3, 4)
    (W1, b1), (W2, b2), (W3, b3) = layers
    z1, a1, z2, a2, Y = forward_np(layers, X)
    np.testing.assert_allclose(net.predict(X), Y, rtol=1e-12)
    d3 = (Y - G) / X.shape[0]
    d2 = (d3 @ W3.T) * sigmoid_deriv(z2)
    d1 = (d2 @ W2.T) * (a1 > 0)
    want = [(W1 - lr * X.T @ d1, b1 - lr * d1.sum(0)), (W2 - lr * a1.T @ d2, b2 - lr * d2.sum(0)),
            (W3 - lr * a2.T @ d3, b3 - lr * d3.sum(0))]
    net.train(X, G, lr)
    for layer, (W, b) in zip(net.layers, want):
        np.testing.assert_allclose(layer.W.data, W, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(layer.b.data, b, rtol=1e-12, atol=1e-14)
        assert layer.W.grad is None and layer.b.grad is None
    cost = -np.sum(G * np.log(forward_np(want, X)[-1])) / X.shape[0]
    assert net.get_cost(X, G) == pytest.approx(cost, rel=1e-12)


def test_training_reduces_cost_on_moons():
    X, y = make_moons(200, noise=0.1, seed=0)
    G = np.eye(2)[y]
    an.manual_seed(0)
    net = NNBuilder().build_all([np.tanh, np.tanh, softmax],
                                [lambda z: 1 - np.tanh(z) ** 2, lambda z: 1 - np.tanh(z) ** 2,
                                 delta_cross_entropy],
                                [FullyConnectedLayer] * 3, [(2, 16), (16, 16), (16, 2)])
    start = net.get_cost(X, G)
    costs = []
    for _ in range(300):
        net.train(X, G, 0.5)
        costs.append(net.get_cost(X, G))
    assert costs[-1] < 0.25 * start
    assert np.mean(net.predict(X).argmax(1) == y) > 0.95


def test_get_cost_is_the_seed_cross_entropy():
    net = Network([FullyConnectedLayer(softmax, delta_cross_entropy, np.eye(3), np.zeros(3))])
    X = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    G = np.array([[0, 1, 0], [0, 0, 1.0]])
    assert net.get_cost(X, G) == pytest.approx(-np.sum(G * np.log(softmax(X))) / 2, rel=1e-14)


def test_one_argument_derivative_may_be_a_ufunc():
    # sin activation, cos derivative (a ufunc), MSE-style output gradient
    net = Network([FullyConnectedLayer(np.sin, np.cos, [[0.5, -1.0]], [0.1, 0.2]),
                   FullyConnectedLayer(i, lambda Y, G: Y - G, [[1.0], [2.0]], [0.0])])
    X, G = np.array([[1.0], [2.0]]), np.array([[0.5], [-0.5]])
    W1, b1 = np.array([[0.5, -1.0]]), np.array([0.1, 0.2])
    z1 = X @ W1 + b1
    Y = np.sin(z1) @ [[1.0], [2.0]]
    d1 = ((Y - G) @ [[1.0, 2.0]]) * np.cos(z1)
    net.train(X, G, 0.1)
    np.testing.assert_allclose(net.layers[0].W.data, W1 - 0.1 * X.T @ d1, rtol=1e-13)


# ----------------------------------------------------------------------------- dtypes
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_np_matrix_inputs_behave_like_arrays(tmp_path):
    layers = random_layers([(4, 6), (6, 5), (5, 3)], seed=5)
    path = write_text(tmp_path / "n.txt", layers)
    args = ([relu, sigmoid, softmax], [relu_deriv, sigmoid_deriv, delta_cross_entropy], path,
            [FullyConnectedLayer] * 3, 4)
    a, m = NNBuilder().load(*args), NNBuilder().load(*args)
    rng = np.random.default_rng(6)
    X, G = rng.standard_normal((5, 4)), np.eye(3)[rng.integers(0, 3, 5)]
    out = m.predict(np.matrix(X))
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, a.predict(X))
    a.train(X, G, 0.1)
    m.train(np.matrix(X), np.matrix(G), 0.1)
    for la, lm in zip(a.layers, m.layers):
        np.testing.assert_array_equal(la.W.data, lm.W.data)
    assert m.get_cost(np.matrix(X), np.matrix(G)) == a.get_cost(X, G)


needs_long = pytest.mark.skipif(np.finfo(np.longdouble).eps >= np.finfo(np.float64).eps,
                                reason="np.longdouble is float64 on this platform")


@needs_long
def test_longdouble_data_computes_in_longdouble(tmp_path):
    tiny = np.longdouble(2) ** -60  # lost in float64 next to 1, kept by long double
    path = tmp_path / "ld.txt"
    path.write_text(f"{MAGIC}\ndtype longdouble\nlayer 0 in 1 out 1\nW\n1\nb\n"
                    f"{np.format_float_scientific(tiny, unique=True)}\n")
    net = NNBuilder().load([i], [i_], path, [FullyConnectedLayer], 1)
    assert net.layers[0].b.dtype == np.longdouble
    out = net.predict(np.array([[1]], dtype=np.longdouble))
    assert out.dtype == np.longdouble and out[0, 0] == 1 + tiny
    net.save(path)
    again = NNBuilder().load([i], [i_], path, [FullyConnectedLayer], 1)
    assert again.layers[0].b.data[0] == tiny


def test_longdouble_training_matches_numpy(tmp_path):
    layers = random_layers([(3, 4), (4, 2)], seed=7)
    net = NNBuilder().load([sigmoid, softmax], [sigmoid_deriv, delta_cross_entropy],
                           write_text(tmp_path / "n.txt", layers), [FullyConnectedLayer] * 2, 3)
    X = np.random.default_rng(8).standard_normal((4, 3)).astype(np.longdouble)
    G = np.eye(2, dtype=np.longdouble)[[0, 1, 1, 0]]
    (W1, b1), (W2, b2) = [(W.astype(np.longdouble), b.astype(np.longdouble)) for W, b in layers]
    z1 = X @ W1 + b1
    a1 = sigmoid(z1)
    Y = softmax(a1 @ W2 + b2)
    d2 = (Y - G) / 4
    d1 = (d2 @ W2.T) * sigmoid_deriv(z1)
    net.train(X, G, 0.5)
    assert net.layers[0].W.dtype == np.longdouble
    tol = 10 * float(np.finfo(np.longdouble).eps)
    np.testing.assert_allclose(net.layers[0].W.data, W1 - 0.5 * X.T @ d1, rtol=tol, atol=tol)
    np.testing.assert_allclose(net.layers[1].b.data, b2 - 0.5 * d2.sum(0), rtol=tol, atol=tol)


def test_float32_data_with_float32_weights_stays_float32():
    net = Network([FullyConnectedLayer(np.tanh, lambda z: 1 - np.tanh(z) ** 2,
                                       np.ones((2, 2), np.float32), np.zeros(2, np.float32))])
    X = np.ones((3, 2), np.float32)
    assert net.predict(X).dtype == np.float32
    net.train(X, np.zeros((3, 2), np.float32), 0.1)
    assert net.layers[0].W.dtype == np.float32


# ----------------------------------------------------------------------------- text format
def test_save_load_round_trip_is_exact(tmp_path):
    an.manual_seed(3)
    net = NNBuilder().build_all([relu, softmax], [relu_deriv, delta_cross_entropy],
                                [FullyConnectedLayer] * 2, [(3, 5), (5, 2)])
    net.layers[0].W.data[0, 0] = 1 / 3
    net.layers[0].b.data[0] = 5e-324
    path = tmp_path / "rt.txt"
    net.save(path)
    assert path.read_text().startswith(MAGIC + "\n")
    back = NNBuilder().load([relu, softmax], [relu_deriv, delta_cross_entropy], path,
                            [FullyConnectedLayer] * 2, 3)
    for a, b in zip(net.layers, back.layers):
        np.testing.assert_array_equal(a.W.data, b.W.data)
        np.testing.assert_array_equal(a.b.data, b.b.data)
    f32 = Network([FullyConnectedLayer(i, i_, np.full((1, 2), 0.1, np.float32),
                                       np.zeros(2, np.float32))])
    f32.save(path)
    back = NNBuilder().load([i], [i_], path, [FullyConnectedLayer], 1)
    assert back.layers[0].W.dtype == np.float32 and back.layers[0].W.data[0, 0] == np.float32(0.1)


GOOD = f"{MAGIC}\nlayer 0 in 2 out 1\nW\n1\n2\nb\n0\nlayer 1 in 1 out 1\nW\n3\nb\n4\n"


@pytest.mark.parametrize("text,match", [
    ("# something else\n" + GOOD.split("\n", 1)[1], "line 1.*header"),
    ("", "line 1.*end of file"),
    (GOOD.replace("W\n1\n2", "W\n1\nx"), "line 5.*not a number"),
    (GOOD.replace("W\n1\n2", "W\n1 5\n2"), "line 4.*1 number"),
    (GOOD.replace("layer 1 in 1", "layer 1 in 3"), "line 8.*layer 0 gives 1"),
    (GOOD.replace("layer 1 in", "layer 5 in"), "line 8.*layer number 1"),
    (GOOD.replace("layer 0 in 2 out 1", "layer 0 in two out 1"), "line 2.*integer"),
    (GOOD.replace("b\n0\n", "c\n0\n"), "line 6.*expected 'b'"),
    (GOOD.rsplit("b\n", 1)[0], "line 11.*end of file"),
    (GOOD.replace(MAGIC + "\n", MAGIC + "\nlayers 3\n"), "3 layers but the file has 2"),
    (GOOD.replace(MAGIC + "\n", MAGIC + "\ndtype int64\n"), "line 2.*float dtype"),
])
def test_malformed_files_name_file_and_line(tmp_path, text, match):
    path = tmp_path / "bad_net.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match="bad_net.txt.*" + match):
        NNBuilder().load([i, i], [i_, i_], path, [FullyConnectedLayer] * 2, 2)


def test_layer_count_and_input_dim_are_checked(tmp_path):
    path = tmp_path / "n.txt"
    path.write_text(GOOD)
    NNBuilder().load([i, i], [i_, i_], path, [FullyConnectedLayer] * 2, 2)
    with pytest.raises(ValueError, match="2 layers but 3 activations"):
        NNBuilder().load([i, i, i], [i_, i_, i_], path, [FullyConnectedLayer] * 3, 2)
    with pytest.raises(ValueError, match="input_dim is 5"):
        NNBuilder().load([i, i], [i_, i_], path, [FullyConnectedLayer] * 2, 5)
    with pytest.raises(ValueError, match="derivatives"):
        NNBuilder().load([i, i], [i_], path, [FullyConnectedLayer] * 2, 2)


# ----------------------------------------------------------------------------- save_network files
def test_load_reads_save_network_files(tmp_path):
    nn = pytest.importorskip("autonn.nn")
    if not hasattr(nn, "save_network"):
        pytest.skip("autonn.nn.save_network is not available")
    an.manual_seed(11)
    model = nn.Sequential(nn.Linear(5, 3), nn.Linear(3, 4), nn.Linear(4, 2))
    path = tmp_path / "model.safetensors"
    nn.save_network(model, path)
    net = NNBuilder().load([i, i, i], [i_, i_, i_], path, [FullyConnectedLayer] * 3, 5)
    X = np.random.default_rng(2).standard_normal((6, 5))
    with an.no_grad():
        want = model(an.tensor(X)).data
    np.testing.assert_allclose(net.predict(X), want, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="input_dim"):
        NNBuilder().load([i, i, i], [i_, i_, i_], path, [FullyConnectedLayer] * 3, 4)


# ----------------------------------------------------------------------------- builder
def test_build_all_is_seeded_and_checks_dims():
    args = ([relu, i], [relu_deriv, i_], [FullyConnectedLayer] * 2)
    an.manual_seed(5)
    a = NNBuilder().build_all(*args, [(3, 4), (4, 2)])
    an.manual_seed(5)
    b = NNBuilder().build_all(*args, [(3, 4), (4, 2)])
    np.testing.assert_array_equal(a.layers[1].W.data, b.layers[1].W.data)
    assert np.abs(a.layers[0].W.data).max() <= 1 / np.sqrt(3)
    with pytest.raises(ValueError, match="layer 1 takes 5 inputs"):
        NNBuilder().build_all(*args, [(3, 4), (5, 2)])
    with pytest.raises(ValueError, match="activations"):
        NNBuilder().build_all(*args, [(3, 4), (4, 2), (2, 2)])


def test_add_builds_a_network_and_checks_dims():
    builder = NNBuilder()
    net = builder.add(FullyConnectedLayer(i, i_, np.ones((2, 3)), np.zeros(3)))
    net = builder.add(FullyConnectedLayer(i, i_, np.ones((3, 1)), np.ones(1)))
    assert net is builder.network and len(net.layers) == 2
    np.testing.assert_array_equal(net.predict([[1.0, 2.0]]), [[10.0]])
    with pytest.raises(ValueError, match="takes 4 inputs"):
        builder.add(FullyConnectedLayer(i, i_, np.ones((4, 1)), np.ones(1)))


def test_the_engine_runs_the_activation_functions():
    layer = FullyConnectedLayer(np.tanh, lambda z: 1 - np.tanh(z) ** 2, [[0.5]], [0.1])
    x = an.tensor([[2.0]])
    y = layer.forward(x)
    assert y.grad_fn is not None
    y.sum().backward()
    z = 2.0 * 0.5 + 0.1
    assert layer.W.grad.item() == pytest.approx(2.0 * (1 - np.tanh(z) ** 2))


def test_bad_shapes_are_value_errors():
    net = Network([FullyConnectedLayer(i, lambda Y, G: Y - G, np.ones((2, 3)), np.zeros(3))])
    with pytest.raises(ValueError, match="2 features"):
        net.predict(np.ones((4, 5)))
    with pytest.raises(ValueError, match="G has shape"):
        net.train(np.ones((4, 2)), np.ones((4, 2)), 0.1)
    with pytest.raises(TypeError, match="one argument"):
        FullyConnectedLayer(i, lambda a, b, c: a, np.ones((2, 3)), np.zeros(3))
