"""Sizes are checked, not coerced (issue 13, part 3, constructors and layers): non-integers are a
TypeError (as PyTorch and NumPy), out-of-range sizes a ValueError, each naming the op."""
import re

import numpy as np
import pytest

import autonn as an

nn = an.nn

TYPE_ERRORS = [
    ("Linear", lambda: nn.Linear(1.5, 3), "in_features"),
    ("Linear", lambda: nn.Linear("3", 3), "in_features"),
    ("Linear", lambda: nn.Linear(3, 2.0), "out_features"),
    ("Linear", lambda: nn.Linear(True, 3), "in_features"),
    ("zeros", lambda: an.zeros(1.5), "shape"),
    ("zeros", lambda: an.zeros((2, "3")), "shape"),
    ("ones", lambda: an.ones(np.float64(2)), "shape"),
    ("empty", lambda: an.empty([2, None]), "shape"),
    ("rand", lambda: an.rand(2.5), "shape"),
    ("randn", lambda: an.randn("2"), "shape"),
    ("full", lambda: an.full(2.5, 1.0), "shape"),
    ("eye", lambda: an.eye(2.5), "n"),
    ("arange", lambda: an.arange("3"), "start"),
    ("Embedding", lambda: nn.Embedding(1.5, 2), "num_embeddings"),
    ("Embedding", lambda: nn.Embedding(3, "2"), "embedding_dim"),
    ("BatchNorm1d", lambda: nn.BatchNorm1d("3"), "num_features"),
    ("LayerNorm", lambda: nn.LayerNorm(2.0), "normalized_shape"),
    ("Conv2d", lambda: nn.Conv2d(1.0, 2, 3), "in_channels"),
    ("Conv2d", lambda: nn.Conv2d(1, 2, (3, 1.5)), "kernel_size"),
    ("MaxPool2d", lambda: nn.MaxPool2d(2.0), "kernel_size"),
]

VALUE_ERRORS = [
    ("Conv2d", lambda: nn.Conv2d(1, 2, kernel_size=0), "kernel_size must be at least 1, got 0"),
    ("Conv2d", lambda: nn.Conv2d(1, 2, 3, stride=0), "stride must be at least 1"),
    ("Conv2d", lambda: nn.Conv2d(1, 2, 3, stride=10 ** 30), "stride = 10{30} is too large"),
    ("Conv2d", lambda: nn.Conv2d(1, 2, 3, dilation=(1, 0)), r"dilation\[1\] must be at least 1"),
    ("Conv2d", lambda: nn.Conv2d(1, 2, 3, padding=-1), "padding must be non-negative"),
    ("Conv2d", lambda: nn.Conv2d(1, 2, (3, 3, 3)), "a pair of integers"),
    ("Conv2d", lambda: nn.Conv2d(1, 2, 3, padding="full"), "invalid padding string"),
    ("MaxPool2d", lambda: nn.MaxPool2d(2, stride=10 ** 30), "stride = 10{30} is too large"),
    ("MaxPool2d", lambda: nn.MaxPool2d(0), "kernel_size must be at least 1"),
    ("Linear", lambda: nn.Linear(-1, 3), "in_features must be non-negative, got -1"),
    ("Embedding", lambda: nn.Embedding(10 ** 30, 2), "too large"),
    ("zeros", lambda: an.zeros(2, -3), r"shape\[1\] must be non-negative"),
    ("arange", lambda: an.arange(0, 5, 0), "step must not be zero"),
    ("arange", lambda: an.arange(0, 10 ** 30), "more than an array can hold"),
    ("arange", lambda: an.arange(0.0, float("nan")), "stop must be finite"),
    ("arange", lambda: an.arange(0, 10 ** 30, 10 ** 29), "does not fit"),
]


def _ids(cases):
    return [f"{op}-{i}" for i, (op, _, _) in enumerate(cases)]


@pytest.mark.parametrize("op,call,arg", TYPE_ERRORS, ids=_ids(TYPE_ERRORS))
def test_non_integer_sizes_are_type_errors_naming_op_and_argument(op, call, arg):
    with pytest.raises(TypeError) as info:
        call()
    assert str(info.value).startswith(f"{op}: {arg}"), str(info.value)


@pytest.mark.parametrize("op,call,pattern", VALUE_ERRORS, ids=_ids(VALUE_ERRORS))
def test_out_of_range_sizes_are_value_errors_naming_the_op(op, call, pattern):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value).startswith(f"{op}: ") and re.search(pattern, str(info.value)), \
        str(info.value)


def test_pytorch_and_numpy_references_agree_on_the_type_errors():
    torch = pytest.importorskip("torch")
    for call in (lambda: torch.nn.Linear(1.5, 3), lambda: torch.nn.Embedding(1.5, 2),
                 lambda: torch.nn.BatchNorm1d("3"), lambda: np.zeros(1.5)):
        with pytest.raises(TypeError):
            call()


def test_integer_like_sizes_still_work():
    lin = nn.Linear(np.int64(3), np.int32(2))
    assert lin.weight.shape == (3, 2) and type(lin.in_features) is int
    assert nn.Linear(0, 3).weight.shape == (0, 3)  # as PyTorch: zero features are allowed
    assert an.zeros(0).shape == (0,) and an.zeros((2, np.uint8(3))).shape == (2, 3)
    assert an.full(3, 1.0).shape == (3,) and an.eye(np.int16(2)).shape == (2, 2)
    conv = nn.Conv2d(np.int64(1), 2, (3, np.int8(2)), stride=(1, 2))
    assert conv.weight.shape == (2, 1, 3, 2) and conv.stride == (1, 2)
    assert nn.MaxPool2d(2).kernel_size == 2 and nn.MaxPool2d((2, 3)).kernel_size == (2, 3)
    assert nn.LayerNorm((2, 3)).weight.shape == (2, 3)
    assert an.arange(np.int64(3)).data.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(an.arange(1.0, 2.0, 0.25).data, [1.0, 1.25, 1.5, 1.75])
    np.testing.assert_array_equal(an.arange(5, 0, -2).data, [5, 3, 1])
