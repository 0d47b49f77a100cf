"""Module, Parameter, containers: registration, traversal, state dicts, modes, repr."""
import copy
from collections import OrderedDict

import numpy as np
import pytest

import autonn as an
from autonn import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(an.ones(3))
        self.fc = nn.Linear(3, 2)
        self.register_buffer("steps", an.zeros(1))
        self.register_buffer("scratch", an.zeros(2), persistent=False)
        self.plain = 5

    def forward(self, x):
        return self.fc(x * self.scale)


def test_parameter_is_a_leaf_tensor_that_requires_grad():
    p = nn.Parameter(an.zeros(2))
    assert isinstance(p, an.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p) == "Parameter containing:\ntensor([0., 0.], requires_grad=True)"
    assert not nn.Parameter(an.zeros(1), requires_grad=False).requires_grad
    data = np.ones(3)
    assert nn.Parameter(data).data is data  # shares, as PyTorch
    assert type(p * 2) is an.Tensor  # results of ops are plain tensors


def test_registration_by_attribute():
    m = Net()
    assert list(m._parameters) == ["scale"]
    assert list(m._modules) == ["fc"]
    assert list(m._buffers) == ["steps", "scratch"]
    assert m.plain == 5 and "plain" not in m._parameters
    assert [n for n, _ in m.named_parameters()] == ["scale", "fc.weight", "fc.bias"]
    assert [n for n, _ in m.named_buffers()] == ["steps", "scratch"]
    assert [n for n, _ in m.named_children()] == ["fc"]
    assert [type(x).__name__ for x in m.modules()] == ["Net", "Linear"]
    assert len(list(m.parameters())) == 3 and len(list(m.buffers())) == 2
    assert len(list(m.parameters(recurse=False))) == 1
    # reassigning a parameter slot with a non-parameter is an error; None clears it
    with pytest.raises(TypeError):
        m.scale = an.ones(3)
    m.scale = None
    assert [n for n, _ in m.named_parameters()] == ["fc.weight", "fc.bias"]
    del m.fc
    assert not hasattr(m, "fc")
    with pytest.raises(AttributeError, match="nope"):
        _ = m.nope


def test_assigning_before_init_is_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(an.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Bad()


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    net = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(net.parameters())) == 2
    assert len(list(net.modules())) == 3  # the Sequential, lin once, ReLU


def test_state_dict_shares_data_and_includes_persistent_buffers():
    m = Net()
    sd = m.state_dict()
    assert list(sd) == ["scale", "steps", "fc.weight", "fc.bias"]
    assert all(not v.requires_grad for v in sd.values())
    assert np.shares_memory(sd["fc.weight"].data, m.fc.weight.data)
    assert m.state_dict(keep_vars=True)["fc.weight"] is m.fc.weight


def test_load_state_dict_copies_in_place_from_tensors_or_arrays():
    a, b = Net(), Net()
    w_before = b.fc.weight
    arr_before = b.fc.weight.data
    b.load_state_dict(a.state_dict())
    assert b.fc.weight is w_before and b.fc.weight.data is arr_before
    np.testing.assert_array_equal(b.fc.weight.data, a.fc.weight.data)
    arrays = {k: v.data * 2 for k, v in a.state_dict().items()}
    res = b.load_state_dict(arrays)
    assert res.missing_keys == [] and res.unexpected_keys == []
    np.testing.assert_array_equal(b.fc.bias.data, 2 * a.fc.bias.data)
    # modifying the source afterwards does not touch b (copied, not aliased)
    arrays["fc.bias"][...] = 123
    assert not np.any(b.fc.bias.data == 123)


def test_load_state_dict_errors_name_every_key_and_copy_nothing():
    m = Net()
    before = {k: v.data.copy() for k, v in m.state_dict().items()}
    bad = {"scale": np.zeros(3), "fc.weight": np.zeros((2, 3)), "extra1": np.zeros(1),
           "extra2": np.zeros(1)}
    with pytest.raises(RuntimeError) as info:
        m.load_state_dict(bad)
    msg = str(info.value)
    for key in ("steps", "fc.bias", "extra1", "extra2", "fc.weight"):
        assert key in msg
    assert "Missing" in msg and "Unexpected" in msg and "size mismatch" in msg
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.data, before[k])  # nothing half-loaded


def test_load_state_dict_non_strict_returns_the_keys():
    m = Net()
    sd = {k: v for k, v in Net().state_dict().items() if k != "steps"}
    sd["other"] = np.zeros(1)
    res = m.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["steps"] and res.unexpected_keys == ["other"]
    assert tuple(res) == (["steps"], ["other"])
    with pytest.raises(RuntimeError, match="size mismatch for fc.weight"):
        m.load_state_dict({"fc.weight": np.zeros((9, 9))}, strict=False)


def test_train_eval_zero_grad_apply_requires_grad():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(), nn.Sequential(nn.BatchNorm1d(2)))
    assert all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError):
        net.train("yes")
    net.eval()
    net(an.ones((3, 2))).sum().backward()
    assert net[0].weight.grad is not None
    net.zero_grad(set_to_none=False)
    assert np.all(net[0].weight.grad.data == 0)
    net.zero_grad()
    assert net[0].weight.grad is None
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "Dropout", "BatchNorm1d", "Sequential", "Sequential"]
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_to_casts_parameters_and_buffers():
    bn = nn.BatchNorm1d(3).to(np.float32)
    assert bn.weight.dtype == np.float32 and bn.running_var.dtype == np.float32
    assert bn.num_batches_tracked.dtype == np.int64
    assert nn.Linear(2, 2).double().weight.dtype == np.float64
    lin = nn.Linear(2, 2, dtype=np.float32)
    assert lin.to("cpu") is lin and lin.weight.dtype == np.float32


def test_forward_missing_and_call():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)
    m = Net()
    assert m(an.ones((4, 3))).shape == (4, 2)


def test_nested_repr_like_pytorch():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(),
                        nn.Sequential(nn.Linear(3, 1, bias=False), nn.Dropout(0.25)),
                        nn.LeakyReLU(0.2))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=1, bias=False)\n"
        "    (1): Dropout(p=0.25)\n"
        "  )\n"
        "  (3): LeakyReLU(negative_slope=0.2)\n"
        ")")
    assert repr(nn.LayerNorm(4)) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True)"
    assert repr(nn.Embedding(5, 2)) == "Embedding(5, 2)"
    assert repr(nn.Conv2d(1, 2, 3, bias=False)) == \
        "Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), bias=False)"
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"


def test_sequential_container_protocol():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    net = nn.Sequential(a, b)
    assert len(net) == 2 and net[0] is a and net[-1] is b and list(net) == [a, b]
    assert net.append(c) is net and net[2] is c and len(net) == 3
    sub = net[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    with pytest.raises(IndexError):
        net[3]
    del net[0]
    assert list(net._modules) == ["0", "1"] and net[0] is b
    named = nn.Sequential(OrderedDict([("hidden", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert [n for n, _ in named.named_parameters()] == ["hidden.weight", "hidden.bias"]
    net.insert(0, a)
    assert list(net) == [a, b, c]
    ml = nn.ModuleList([nn.Linear(1, 1), nn.Linear(1, 1)])
    assert len(ml) == 2 and len(list(ml.parameters())) == 4


def test_deepcopy_is_independent():
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    net(an.randn(4, 2)).sum().backward()
    cp = copy.deepcopy(net)
    assert type(cp[0].weight) is nn.Parameter
    np.testing.assert_array_equal(cp[0].weight.data, net[0].weight.data)
    cp[0].weight.data[...] = 0
    cp[1].running_mean.data[...] = 7
    assert not np.all(net[0].weight.data == 0) and not np.any(net[1].running_mean.data == 7)
    np.testing.assert_array_equal(cp[0].weight.grad.data, net[0].weight.grad.data)
