"""autonn.simple meets an.nn (issue 10, part 3): a seed-style network converts to an an.nn module
and back with the same predictions bit for bit, an.nn.compress folds its linear runs, and
``autonn compress`` reads either file format."""
import argparse
import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

import autonn as an
from autonn import compress_cli, simple
from autonn.simple import ACTIVATIONS, FullyConnectedLayer, Network, NNBuilder

nn = an.nn
X = np.random.default_rng(0).standard_normal((7, 4))


def _seed_net(names, dims=((4, 5), (5, 5), (5, 3))):
    acts = [ACTIVATIONS[n][0] for n in names]
    ders = [ACTIVATIONS[n][1] for n in names]
    an.manual_seed(0)
    return NNBuilder().build_all(acts, ders, [FullyConnectedLayer] * len(names), list(dims))


@pytest.mark.parametrize("names", [("identity", "identity", "identity"),
                                   ("relu", "tanh", "softmax"), ("sigmoid", "identity", "relu")])
def test_to_module_predicts_the_same_bits(names):
    net = _seed_net(names)
    module = net.to_module()
    with an.no_grad():
        assert np.array_equal(module(an.tensor(X)).data, net.predict(X))
    assert sum(isinstance(m, nn.Linear) for m in module.modules()) == 3
    assert sum(isinstance(m, simple.Activation) for m in module.modules()) == \
        sum(n != "identity" for n in names)


def test_to_module_with_user_callables_and_two_argument_derivatives_trains_the_same():
    cube = (lambda z: z ** 3, lambda z: 3 * z ** 2)
    relu = (lambda z: np.maximum(z, 0), lambda Y, G: G * (Y > 0))
    net = Network([FullyConnectedLayer(*cube, np.full((4, 3), 0.1), np.zeros(3)),
                   FullyConnectedLayer(*relu, np.arange(6.0).reshape(3, 2) - 2, np.ones(2))])
    module = net.to_module()
    G = np.random.default_rng(1).standard_normal((7, 2))
    with an.no_grad():
        assert np.array_equal(module(an.tensor(X)).data, net.predict(X))
    out = module(an.tensor(X))
    out.backward(an.tensor(G))
    grads = [p.grad.data.copy() for p in module.parameters()]
    before = [p.data.copy() for p in net.parameters()]
    net.train(X, G, lr=1.0)  # one step of size 1: the change is minus the gradient
    for g, b, p in zip(grads, before, net.parameters()):
        np.testing.assert_allclose(b - p.data, g, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("act", [None, nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.GELU(),
                                 nn.LeakyReLU(0.2), nn.ELU(), nn.Softplus(), nn.Identity(),
                                 nn.Softmax(dim=-1)], ids=lambda a: type(a).__name__)
def test_from_module_predicts_the_same_bits(act):
    an.manual_seed(3)
    layers = [nn.Linear(4, 6)] + ([act] if act is not None else []) + [nn.Linear(6, 2)]
    module = nn.Sequential(*layers)
    net = Network.from_module(module)
    with an.no_grad():
        assert np.array_equal(net.predict(X), module(an.tensor(X)).data)
    assert len(net.layers) == 2


@pytest.mark.parametrize("act", [nn.Tanh(), nn.Sigmoid(), nn.GELU(), nn.Softmax(dim=-1),
                                 nn.Lambda(lambda x: x ** 3, lambda x: 3 * x ** 2)],
                         ids=lambda a: type(a).__name__)
def test_from_module_gradients_match_the_modules(act):
    an.manual_seed(4)
    module = nn.Sequential(nn.Linear(4, 6), act, nn.Linear(6, 2))
    net = Network.from_module(module)
    G = np.random.default_rng(2).standard_normal((7, 2))
    module(an.tensor(X)).backward(an.tensor(G))
    net.forward(an.tensor(X)).backward(an.tensor(G))
    for p, q in zip(module.parameters(), net.parameters()):
        np.testing.assert_allclose(q.grad.data, p.grad.data, rtol=1e-10, atol=1e-12)


def test_round_trip_network_module_network_is_exact():
    net = _seed_net(("relu", "identity", "softmax"))
    back = Network.from_module(net.to_module())
    assert np.array_equal(back.predict(X), net.predict(X))
    assert [layer.activation for layer in back.layers] == [layer.activation
                                                          for layer in net.layers]


def test_to_module_refuses_layers_with_their_own_forward():
    class Scaled(FullyConnectedLayer):
        def forward(self, x):
            return super().forward(x) * 2

    net = Network([Scaled(*ACTIVATIONS["identity"], np.eye(2), np.zeros(2))])
    with pytest.raises(TypeError, match="layer 0 is a Scaled with its own forward"):
        net.to_module()


def test_from_module_names_what_it_cannot_run():
    with pytest.raises(TypeError, match="module 1 is Dropout"):
        Network.from_module(nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Linear(2, 1)))
    with pytest.raises(TypeError, match="module 2 is ReLU, where a Linear was expected"):
        Network.from_module(nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.ReLU()))
    with pytest.raises(TypeError, match="expected an an.nn.Sequential"):
        Network.from_module(nn.ReLU())


def test_compress_folds_a_seed_networks_linear_layers():
    net = _seed_net(("identity", "identity", "identity"))
    small = nn.compress(net.to_module())
    assert [type(m).__name__ for m in small] == ["Linear"]
    (W1, b1), (W2, b2), (W3, b3) = [(layer.W.data, layer.b.data) for layer in net.layers]
    np.testing.assert_allclose(small[0].weight.data, W1 @ W2 @ W3, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(small[0].bias.data, b1 @ W2 @ W3 + b2 @ W3 + b3, rtol=1e-12,
                               atol=1e-14)


def test_an_nn_compress_takes_a_seed_network_and_gives_one_back():
    net = _seed_net(("identity", "identity", "relu", "identity"),
                    dims=((4, 6), (6, 5), (5, 5), (5, 2)))
    small = nn.compress(net)
    assert isinstance(small, Network)
    assert [layer.W.shape for layer in small.layers] == [(4, 5), (5, 2)]
    assert small.layers[0].activation is ACTIVATIONS["relu"][0]
    np.testing.assert_allclose(small.predict(X), net.predict(X), rtol=1e-12, atol=1e-12)
    assert len(net.layers) == 4  # the input is not modified
    with pytest.raises(TypeError, match="an an.nn.Module or an autonn.simple.Network"):
        nn.compress([1, 2])


def test_save_names_known_activations_and_load_named_rebuilds_them(tmp_path):
    net = _seed_net(("relu", "identity", "softmax"))
    path = str(tmp_path / "n.txt")
    net.save(path)
    text = Path(path).read_text()
    assert "layer 0 in 4 out 5 act relu" in text and "layer 2 in 5 out 3 act softmax" in text
    back = simple.load_named(path)
    assert np.array_equal(back.predict(X), net.predict(X))
    mine = Network([FullyConnectedLayer(lambda z: z, lambda z: 1, np.eye(4), np.zeros(4))])
    mine.save(path)
    assert "act" not in Path(path).read_text()
    with pytest.raises(ValueError, match="n.txt: layer 0 does not name its activation"):
        simple.load_named(path)


def _compress(src, dst):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = compress_cli.run(argparse.Namespace(input=str(src), output=str(dst)))
    return status, out.getvalue(), err.getvalue()


def test_compress_command_reads_and_writes_the_text_format(tmp_path):
    net = _seed_net(("identity", "identity", "relu", "identity"),
                    dims=((4, 6), (6, 5), (5, 5), (5, 2)))
    src, dst = tmp_path / "seed.txt", tmp_path / "small.txt"
    net.save(str(src))
    status, out, err = _compress(src, dst)
    assert status == 0, err
    # Linear(4,6) Linear(6,5) relu | Linear(5,5) Linear(5,2)  ->  Linear(4,5) relu Linear(5,2)
    assert "before: 5 layers, 107 parameters" in out and "after:  3 layers, 37 parameters" in out
    small = simple.load_named(str(dst))
    assert [layer.W.shape for layer in small.layers] == [(4, 5), (5, 2)]
    np.testing.assert_allclose(small.predict(X), net.predict(X), rtol=1e-12, atol=1e-12)


def test_compress_command_reads_a_network_built_from_a_seed_network(tmp_path):
    net = _seed_net(("identity", "identity", "identity"))
    src, dst = tmp_path / "seed.safetensors", tmp_path / "small.safetensors"
    nn.save_network(net.to_module(), str(src))
    status, out, err = _compress(src, dst)
    assert status == 0, err
    assert "after:  1 layers" in out
    small = nn.load_network(str(dst))
    with an.no_grad():
        np.testing.assert_allclose(small(an.tensor(X)).data, net.predict(X), rtol=1e-12,
                                   atol=1e-12)


@pytest.mark.parametrize("content,message", [
    (None, "cannot read .*missing.txt: No such file"),
    (simple.MAGIC + "\nlayer 0 in 1 out 1\nW\n1\nb\n0\n", "layer 0 does not name its activation"),
    (b"\x00\x01garbage", "not an autonn network file"),
])
def test_compress_command_user_mistakes_are_one_line_and_status_2(tmp_path, content, message):
    src = tmp_path / "missing.txt"
    if content is not None:
        src.write_bytes(content if isinstance(content, bytes) else content.encode())
    status, out, err = _compress(src, tmp_path / "out.txt")
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("autonn compress: error: ")
    assert re.search(message, err), err
