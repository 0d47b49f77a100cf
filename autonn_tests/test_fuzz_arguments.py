"""Invalid arguments, fuzzed: every registered op (``autonn.testing.registry``) and every public
constructor is called with arguments made invalid (types, shapes, axes, dtypes, sizes), drawn
by Hypothesis from a valid case. Each call must either

* raise ``ValueError``, ``TypeError``, ``IndexError`` or ``RuntimeError`` with a message that
  names the op, or
* return a result, but only where NumPy (the entry's plain-NumPy reference) accepts the same
  arguments too;

nothing else: no other exception, no hang (each call has a time limit), no result where NumPy
raises. ``python autonn_tests/test_fuzz_arguments.py`` prints the number of calls per outcome.
"""
import collections
import signal
import warnings

import numpy as np
import pytest
from hypothesis import Phase, given, settings, strategies as st

import autonn as an
from autonn.testing.registry import REGISTRY

ALLOWED = (ValueError, TypeError, IndexError, RuntimeError)
TIME_LIMIT = 5.0  # seconds per call: more is a hang
OUTCOMES = collections.Counter()

BAD_VALUES = ["abc", None, object(), {"a": 1}, [[1.0], [1.0, 2.0]], np.array(["x", "y"]),
              np.array([object()], dtype=object), 10 ** 100]
BAD_AXES = [99, -99, 1.5, "0", (0, 0), True]
BAD_INTS = [1.5, "2", -10 ** 12, 10 ** 30, 10 ** 12]
BAD_STRINGS = ["bogus", 3]
BAD_INDEX = [np.array([1.5]), np.array([10 ** 9]), "abc", np.array([[[[0]]]])]
AXIS_KEYS = {"axis", "axis1", "axis2", "axisa", "axisb", "axisc", "dim", "source",
             "destination", "start", "start_dim", "end_dim", "axes"}
INT_KEYS = {"n", "k", "kth", "offset", "num", "repeats", "reps", "shift", "indices_or_sections",
            "ddof", "edge_order", "kernel_size", "stride", "padding", "dilation", "shape"}
STRING_KEYS = {"mode", "side", "order", "subscripts", "reduction"}
INDEX_KEYS = {"index", "indices", "target", "condition", "condlist", "nan_at"}


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def _timed(fn):
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _numpy_raises(fn):
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _timed(fn)
    except Hang:
        return False  # NumPy computes for long (e.g. 10**12 differences): a result is fine
    except Exception:  # noqa: BLE001  (any NumPy error: the arguments are invalid there)
        return True
    return False


def _names(spec):
    names = {spec.name, *spec.covers}
    names |= {n.split(".")[-1] for n in names}
    names |= {n.replace("_", "") for n in names}
    return {n.lower() for n in names}


def check_call(call, ref_call, names, label):
    """Run one invalid call; return its outcome, failing the test on a forbidden one."""
    try:
        _timed(call)
    except Hang:
        OUTCOMES["hang"] += 1
        pytest.fail(f"{label}: no answer within {TIME_LIMIT} s")
    except ALLOWED as e:
        msg = str(e).lower().replace("_", "")
        if not any(n in msg for n in names):
            OUTCOMES["error not naming the op"] += 1
            pytest.fail(f"{label}: {type(e).__name__} does not name the op ({sorted(names)}): {e}")
        OUTCOMES[f"{type(e).__name__}, naming the op"] += 1
        return "raised"
    except Exception as e:  # noqa: BLE001
        OUTCOMES[f"other exception ({type(e).__name__})"] += 1
        pytest.fail(f"{label}: raised {type(e).__name__}, not one of ValueError, TypeError, "
                    f"IndexError, RuntimeError: {e}")
    if ref_call is not None and _numpy_raises(ref_call):
        OUTCOMES["result where NumPy raises"] += 1
        pytest.fail(f"{label}: returned a result where NumPy raises")
    OUTCOMES["result (NumPy accepts too)"] += 1
    return "accepted"


# ----- registered ops -----
def _is_public(fn):
    return getattr(fn, "__module__", "").startswith("autonn.") and \
        not getattr(fn, "__module__", "").startswith("autonn.testing")


def _mutations(spec, case):
    """(label, arrays, kwargs) with one argument made invalid."""
    out = []
    for i, a in enumerate(case.arrays):
        if _is_public(spec.fn):  # a bad value where the op takes an array
            out += [(f"array {i} = {v!r:.30}", i, v, None, None) for v in BAD_VALUES]
            out.append((f"array {i} as text", i, np.full(np.shape(a), "x"), None, None))
        out.append((f"array {i} as complex", i, np.asarray(a) + 1j, None, None))
        out.append((f"array {i} with a wrong shape", i, np.ones((5, 7, 1)), None, None))
    for key in case.kwargs:
        if key in AXIS_KEYS:
            bad = BAD_AXES
        elif key in INT_KEYS:
            bad = BAD_INTS
        elif key in STRING_KEYS:
            bad = BAD_STRINGS
        elif key in INDEX_KEYS:
            bad = BAD_INDEX
        else:
            bad = ["abc", -5, 1.5]
        out += [(f"{key}={v!r:.30}", None, None, key, v) for v in bad]
    return out


@pytest.mark.parametrize("name", sorted(REGISTRY))
@settings(max_examples=8, phases=(Phase.explicit, Phase.generate), report_multiple_bugs=False)
@given(data=st.data())
def test_registered_ops_refuse_invalid_arguments(name, data):
    spec = REGISTRY[name]
    case = data.draw(spec.cases(np.float64))
    muts = _mutations(spec, case)
    label, i, value, key, kv = data.draw(st.sampled_from(muts))
    arrays, kwargs = list(case.arrays), dict(case.kwargs)
    if i is not None:
        arrays[i] = value
    else:
        kwargs[key] = kv

    def call():
        args = [a if j == i and not (isinstance(a, np.ndarray) and a.dtype.kind in "biufc")
                else an.tensor(a) for j, a in enumerate(arrays)]  # a bad value is passed as it is
        return spec.fn(*args, **kwargs)

    def ref():
        return spec.ref(*arrays, **kwargs)
    check_call(call, ref, _names(spec), f"{name} with {label}")


# ----- public constructors -----
CONSTRUCTOR_CALLS = [
    ("zeros", lambda: an.zeros(1.5)), ("zeros", lambda: an.zeros("3")),
    ("zeros", lambda: an.zeros(-1)), ("zeros", lambda: an.zeros(10 ** 30)),
    ("zeros", lambda: an.zeros((10 ** 6, 10 ** 6, 10 ** 6))), ("zeros", lambda: an.zeros(2, dtype="bogus")),
    ("ones", lambda: an.ones(None)), ("ones", lambda: an.ones((2, 1.5))),
    ("empty", lambda: an.empty(-3)), ("empty", lambda: an.empty(True)),
    ("full", lambda: an.full(1.5, 2.0)), ("full", lambda: an.full((2,), "x")),
    ("full", lambda: an.full((2,), an.ones(3))),
    ("arange", lambda: an.arange(0, 5, 0)), ("arange", lambda: an.arange(0, 10 ** 30)),
    ("arange", lambda: an.arange("a")), ("arange", lambda: an.arange(0, 5, 10 ** 30 * 0.0 + 0.0)),
    ("eye", lambda: an.eye(1.5)), ("eye", lambda: an.eye(-2)), ("eye", lambda: an.eye(10 ** 12)),
    ("rand", lambda: an.rand("2")), ("randn", lambda: an.randn(2, -1)),
    ("randn", lambda: an.randn(10 ** 10, 10 ** 10)),
    ("tensor", lambda: an.tensor("abc")), ("tensor", lambda: an.tensor([[1], [1, 2]])),
    ("tensor", lambda: an.tensor(None)), ("tensor", lambda: an.tensor([1.0], dtype="bogus")),
    ("zeroslike", lambda: an.zeros_like("abc")), ("oneslike", lambda: an.ones_like(None)),
    ("linspace", lambda: an.linspace(0, 1, -1)), ("linspace", lambda: an.linspace(0, 1, 1.5)),
    ("linspace", lambda: an.linspace(an.tensor(0.0), 1, "3")),
    ("split", lambda: an.split(an.ones(4), 10 ** 12)), ("split", lambda: an.split(an.ones(0), 10 ** 12)),
    ("arraysplit", lambda: an.array_split(an.ones(4), 10 ** 12)),
    ("zeros", lambda: an.zeros(10 ** 12)), ("full", lambda: an.full((10 ** 12,), an.tensor(1.0))),
]


@pytest.mark.parametrize("index", range(len(CONSTRUCTOR_CALLS)))
def test_constructors_refuse_invalid_arguments(index):
    name, call = CONSTRUCTOR_CALLS[index]
    try:
        _timed(call)
    except ALLOWED as e:
        assert name in str(e).lower().replace("_", ""), f"{name}: message does not name it: {e}"
        OUTCOMES[f"{type(e).__name__}, naming the op"] += 1
        return
    except Hang:
        OUTCOMES["hang"] += 1
        pytest.fail(f"{name}: no answer within {TIME_LIMIT} s")
    OUTCOMES["result where NumPy raises"] += 1
    pytest.fail(f"{name}: call {index} returned a result; NumPy and PyTorch raise")


def test_concatenate_axis_none_flattens_as_numpy():
    parts = [np.arange(4.0).reshape(2, 2), np.arange(3.0)]
    got = an.concatenate([an.tensor(p) for p in parts], axis=None)
    np.testing.assert_array_equal(got.data, np.concatenate(parts, axis=None))


def test_big_endian_labels_work_in_cross_entropy():
    logits = np.random.default_rng(0).normal(size=(3, 4))
    labels = np.array([0, 3, 1])
    big = labels.astype(">i8")
    a = an.ops.nn.cross_entropy(an.tensor(logits), big)
    b = an.ops.nn.cross_entropy(an.tensor(logits), labels)
    assert a.item() == b.item()
    with pytest.raises(ValueError, match="cross_entropy: label 7"):
        an.ops.nn.cross_entropy(an.tensor(logits), np.array([0, 7, 1], dtype=">i8"))


def test_sequences_of_tensors_stack_and_keep_the_graph():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    m = an.mean([x, x + 2])
    m.backward()
    assert m.item() == 2.5
    np.testing.assert_allclose(x.grad.data, [0.5, 0.5])
    y = an.tensor(3.0, requires_grad=True)
    (g,) = an.grad(an.sum([[y, 1.0], [2.0, y * y]]), y)
    assert g.item() == 7.0


if __name__ == "__main__":
    import sys
    import time
    t0 = time.perf_counter()
    code = pytest.main([__file__, "-q", "-p", "no:cacheprovider"])
    OUTCOMES = sys.modules["autonn_tests.test_fuzz_arguments"].OUTCOMES
    total = sum(OUTCOMES.values())
    print(f"\n{total} invalid calls in {time.perf_counter() - t0:.1f} s:")
    for outcome, count in OUTCOMES.most_common():
        print(f"  {count:6d}  {outcome}")
    sys.exit(code)
