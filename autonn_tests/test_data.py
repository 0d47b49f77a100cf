"""TensorDataset and DataLoader: coverage, order, shapes, reproducible shuffles."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import autonn as an
from autonn.data import DataLoader, Dataset, TensorDataset, default_collate


def make_ds(n, feat=3):
    X = an.tensor(np.arange(n * feat, dtype=np.float64).reshape(n, feat))
    y = an.arange(n)
    return TensorDataset(X, y)


def epoch_ids(loader):
    return [b[1].tolist() for b in loader]


@given(n=st.integers(1, 40), bs=st.integers(1, 12), shuffle=st.booleans(),
       drop_last=st.booleans(), seed=st.integers(0, 2 ** 32 - 1))
def test_every_sample_once_per_epoch(n, bs, shuffle, drop_last, seed):
    loader = DataLoader(make_ds(n), batch_size=bs, shuffle=shuffle, drop_last=drop_last, seed=seed)
    batches = list(loader)
    assert len(batches) == len(loader) == (n // bs if drop_last else -(-n // bs))
    ids = [i for b in batches for i in b[1].tolist()]
    assert len(ids) == len(set(ids))
    if drop_last:
        assert len(ids) == (n // bs) * bs
        assert all(b[0].shape == (bs, 3) for b in batches)
    else:
        assert sorted(ids) == list(range(n))
        assert all(b[0].shape == (bs, 3) for b in batches[:-1])
        assert batches[-1][0].shape == (n - bs * (len(batches) - 1), 3)
    for X, y in batches:  # rows stay paired with their labels
        np.testing.assert_array_equal(X.data[:, 0], y.data * 3)
    if not shuffle:
        assert ids == list(range(len(ids)))


def test_batch_shapes_and_dtypes():
    ds = TensorDataset(np.zeros((10, 2, 3), np.float32), np.arange(10))
    X, y = next(iter(DataLoader(ds, batch_size=4)))
    assert isinstance(X, an.Tensor) and X.shape == (4, 2, 3) and X.dtype == np.float32
    assert y.shape == (4,) and y.dtype == np.int64


def test_shuffle_reproducible_by_seed_and_new_order_each_epoch():
    a = DataLoader(make_ds(30), batch_size=7, shuffle=True, seed=123)
    b = DataLoader(make_ds(30), batch_size=7, shuffle=True, seed=123)
    first_a, second_a = epoch_ids(a), epoch_ids(a)
    assert first_a == epoch_ids(b) and second_a == epoch_ids(b)
    assert first_a != second_a
    assert epoch_ids(DataLoader(make_ds(30), batch_size=7, shuffle=True, seed=124)) != first_a
    assert sum(first_a, []) != list(range(30))


def test_global_seed_controls_unseeded_shuffle():
    loader = DataLoader(make_ds(25), batch_size=5, shuffle=True)
    an.manual_seed(7)
    one = epoch_ids(loader)
    an.manual_seed(7)
    assert epoch_ids(loader) == one


def test_size_mismatch_names_the_sizes():
    with pytest.raises(ValueError, match=r"\[4, 5\]"):
        TensorDataset(an.zeros(4, 2), an.zeros(5))


def test_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(make_ds(3), batch_size=0)


def test_tensor_dataset_indexing():
    ds = make_ds(5)
    X, y = ds[2]
    assert len(ds) == 5 and y.item() == 2 and X.tolist() == [6.0, 7.0, 8.0]


class Pairs(Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, i):
        return {"x": np.full(2, float(i)), "label": i, "name": f"s{i}"}


def test_generic_dataset_goes_through_collate():
    batches = list(DataLoader(Pairs(), batch_size=3, shuffle=True, seed=0))
    assert [len(b["name"]) for b in batches] == [3, 3, 1]
    labels = [i for b in batches for i in b["label"].tolist()]
    assert sorted(labels) == list(range(7))
    b = batches[0]
    assert b["x"].shape == (3, 2) and b["label"].dtype == np.int64
    np.testing.assert_array_equal(b["x"].data[:, 0], b["label"].data)


def test_default_collate_tuples_and_numbers():
    X, y = default_collate([(an.ones(2), 0.5), (an.zeros(2), 1.5)])
    assert X.shape == (2, 2) and y.dtype == np.float64 and y.tolist() == [0.5, 1.5]


def test_collate_keeps_gradients_flowing():
    w = an.tensor([1.0, 2.0], requires_grad=True)
    batch = default_collate([w * 2, w * 3])
    batch.sum().backward()
    assert w.grad.tolist() == [5.0, 5.0]


def test_batch_size_none_yields_samples():
    items = list(DataLoader(make_ds(3), batch_size=None))
    assert len(items) == 3 and items[1][1].item() == 1
