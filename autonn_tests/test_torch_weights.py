"""an.nn.load_torch_state_dict and safetensors through an.load (issue 10, part 3).

The core logic is tested with dicts of NumPy arrays (no torch needed): a PyTorch Linear computes
``x W^T + b`` with ``W`` of shape (out, in), so the hand-written oracle is ``x @ W.T + b``. The
tests marked ``torch`` check against real PyTorch modules and are skipped only when torch cannot
be imported."""
import numpy as np
import pytest
from safetensors.numpy import save_file

import autonn as an

nn = an.nn
rng = np.random.default_rng(0)


def _torch():
    return pytest.importorskip("torch")


def test_linear_weights_are_transposed_from_pytorch_layout():
    W1, b1 = rng.standard_normal((5, 3)), rng.standard_normal(5)  # PyTorch: (out, in)
    W2, b2 = rng.standard_normal((2, 5)), rng.standard_normal(2)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    result = nn.load_torch_state_dict(model, {"0.weight": W1, "0.bias": b1, "2.weight": W2,
                                              "2.bias": b2})
    assert result.missing_keys == [] and result.unexpected_keys == []
    x = rng.standard_normal((4, 3))
    expected = np.tanh(x @ W1.T + b1) @ W2.T + b2
    np.testing.assert_allclose(model(an.tensor(x)).data, expected, rtol=1e-12, atol=1e-12)
    assert model[0].weight.shape == (3, 5)


def test_other_layers_are_copied_as_they_are_and_cast_to_the_models_dtype():
    model = nn.Sequential(nn.Conv2d(2, 3, 3, dtype=np.float32), nn.Flatten(),
                          nn.BatchNorm1d(12, dtype=np.float32))
    sd = {"0.weight": rng.standard_normal((3, 2, 3, 3)), "0.bias": rng.standard_normal(3),
          "2.weight": rng.standard_normal(12), "2.bias": rng.standard_normal(12),
          "2.running_mean": rng.standard_normal(12), "2.running_var": rng.random(12) + 0.5,
          "2.num_batches_tracked": np.array(7)}
    nn.load_torch_state_dict(model, sd)
    np.testing.assert_array_equal(model[0].weight.data, sd["0.weight"].astype(np.float32))
    assert model[0].weight.dtype == np.float32
    assert int(model[2].num_batches_tracked.data) == 7
    np.testing.assert_array_equal(model[2].running_var.data, sd["2.running_var"].astype(np.float32))


def test_errors_name_every_key_and_spot_transposes():
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2), nn.LayerNorm((2, 4)))
    sd = {"0.weight": np.zeros((3, 5)),            # already in autonn's (in, out) layout
          "2.weight": np.zeros((2, 4)),            # plainly wrong
          "2.bias": np.zeros(2),
          "3.weight": np.zeros((4, 2)),            # transposed
          "3.bias": np.zeros((2, 4)),
          "extra.weight": np.zeros(1)}
    before = model[0].weight.data.copy()
    with pytest.raises(RuntimeError) as info:
        nn.load_torch_state_dict(model, sd)
    msg = str(info.value)
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    assert 'Missing key(s) in state_dict: "0.bias"' in msg
    assert "size mismatch for 0.weight: shape (3, 5) looks already transposed" in msg
    assert "(out_features, in_features) = (5, 3)" in msg
    assert "size mismatch for 2.weight: copying a Linear weight of shape (2, 4)" in msg
    assert "needs PyTorch's (out_features, in_features) = (2, 5)" in msg
    assert "size mismatch for 3.weight" in msg and "(it looks transposed)" in msg
    assert "3.bias" not in msg
    np.testing.assert_array_equal(model[0].weight.data, before)  # nothing copied


def test_non_strict_reports_missing_and_unexpected():
    model = nn.Linear(2, 1)
    result = nn.load_torch_state_dict(model, {"weight": np.ones((1, 2)), "other": np.ones(1)},
                                      strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["other"]
    np.testing.assert_array_equal(model.weight.data, np.ones((2, 1)))


def test_ddp_prefix_is_explained():
    with pytest.raises(RuntimeError, match="module.*DistributedDataParallel"):
        nn.load_torch_state_dict(nn.Linear(2, 1), {"module.weight": np.ones((1, 2)),
                                                   "module.bias": np.ones(1)})


def test_safetensors_file_loads_into_a_model_and_through_an_load(tmp_path):
    W, b = rng.standard_normal((4, 3)).astype(np.float32), np.arange(4, dtype=np.float32)
    path = str(tmp_path / "torch.safetensors")
    save_file({"weight": W, "bias": b}, path)
    model = nn.Linear(3, 4)
    nn.load_torch_state_dict(model, path)
    np.testing.assert_array_equal(model.weight.data, W.T.astype(model.weight.dtype))
    loaded = an.load(path)
    assert sorted(loaded) == ["bias", "weight"] and isinstance(loaded["weight"], an.Tensor)
    np.testing.assert_array_equal(loaded["weight"].data, W)
    assert loaded["weight"].dtype == np.float32 and not loaded["weight"].requires_grad


def test_an_load_reads_a_network_files_weights(tmp_path):
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    path = str(tmp_path / "net.safetensors")
    nn.save_network(net, path)
    loaded = an.load(path)
    assert sorted(loaded) == sorted(net.state_dict())
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(loaded[k].data, v.data)


def test_pickled_checkpoints_are_refused(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"PK\x03\x04" + bytes(40))
    with pytest.raises(ValueError, match="model.pt.*pickle.*safetensors.torch.save_file"):
        nn.load_torch_state_dict(nn.Linear(2, 1), str(path))
    with pytest.raises(TypeError, match="expected a state dict"):
        nn.load_torch_state_dict(nn.Linear(2, 1), [1, 2])


# ----------------------------------------------------------------------------- real PyTorch
def _pair_of_models(torch):
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8), torch.nn.GELU(),
                             torch.nn.Linear(8, 8), torch.nn.LayerNorm(8), torch.nn.Tanh(),
                             torch.nn.Linear(8, 3)).double()
    tm.train()
    with torch.no_grad():
        tm(torch.randn(32, 6, dtype=torch.float64))  # running statistics that are not 0 and 1
    tm.eval()
    am = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.GELU(), nn.Linear(8, 8),
                       nn.LayerNorm(8), nn.Tanh(), nn.Linear(8, 3))
    am.eval()
    return tm, am


def test_torch_mlp_predictions_match():
    torch = _torch()
    tm, am = _pair_of_models(torch)
    nn.load_torch_state_dict(am, tm.state_dict())
    x = rng.standard_normal((10, 6))
    with torch.no_grad():
        expected = tm(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(am(an.tensor(x)).data, expected, rtol=1e-10, atol=1e-12)


def test_torch_module_itself_and_float32_and_bfloat16_tensors():
    torch = _torch()
    tm = torch.nn.Linear(4, 2)
    am = nn.Linear(4, 2, dtype=np.float32)
    nn.load_torch_state_dict(am, tm)  # a module: its state_dict()
    np.testing.assert_array_equal(am.weight.data, tm.weight.detach().numpy().T)
    bf = {k: v.to(torch.bfloat16) for k, v in tm.state_dict().items()}
    nn.load_torch_state_dict(am, bf)
    np.testing.assert_array_equal(am.weight.data, bf["weight"].float().numpy().T)


def test_torch_conv_net_from_a_safetensors_file(tmp_path):
    torch = _torch()
    from safetensors.torch import save_file as torch_save_file
    torch.manual_seed(1)
    tm = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.ReLU(),
                             torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                             torch.nn.Linear(4 * 3 * 3, 5)).double()
    am = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                       nn.Linear(36, 5))
    path = str(tmp_path / "conv.safetensors")
    torch_save_file(tm.state_dict(), path)
    nn.load_torch_state_dict(am, path)
    x = rng.standard_normal((3, 2, 6, 6))
    with torch.no_grad():
        expected = tm(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(am(an.tensor(x)).data, expected, rtol=1e-10, atol=1e-12)


def test_torch_embedding_and_mismatch_message():
    torch = _torch()
    tm = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Linear(4, 2))
    am = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 2))
    nn.load_torch_state_dict(am, tm.state_dict())
    idx = np.array([[1, 5], [9, 0]])
    with torch.no_grad():
        expected = tm(torch.from_numpy(idx)).double().numpy()
    np.testing.assert_allclose(am(an.tensor(idx)).data, expected, rtol=1e-6, atol=1e-6)
    wrong = nn.Sequential(nn.Embedding(10, 4), nn.Linear(2, 4))
    with pytest.raises(RuntimeError, match=r"1\.weight: shape \(2, 4\) looks already transposed"):
        nn.load_torch_state_dict(wrong, tm.state_dict())


def test_load_network_on_plain_safetensors_points_to_what_reads_it(tmp_path):
    path = str(tmp_path / "plain.safetensors")
    save_file({"weight": np.ones((2, 3))}, path)
    with pytest.raises(ValueError, match=r"plain\.safetensors.*not an autonn network.*an\.load "
                                         r"reads it.*load_torch_state_dict"):
        nn.load_network(path)
    np.testing.assert_array_equal(an.load(path)["weight"].data, np.ones((2, 3)))
