"""Post-accumulate-grad hooks and queue_callback (autonn/grad_hooks.py): when they fire, what they
see, and that they leave no trace once removed."""
import numpy as np
import pytest

import autonn as an
from autonn import grad_hooks


def test_hook_sees_the_complete_gradient_of_a_leaf_used_twice():
    w = an.tensor([1.0, -2.0], requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.data.copy()))
    x = an.tensor([3.0, 4.0])
    loss = (w * x).sum() + (w * w * w).sum()  # d/dw = x + 3 w^2
    loss.backward()
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], [3.0 + 3.0, 4.0 + 12.0])


def test_hooks_fire_in_walk_order_before_the_rest_of_backward():
    """The last layer's weight is complete while the first layer's gradient is still to come."""
    an.manual_seed(0)
    net = an.nn.Sequential(an.nn.Linear(3, 4), an.nn.Tanh(), an.nn.Linear(4, 2))
    first, last = net[0].weight, net[2].weight
    log = []
    last.register_post_accumulate_grad_hook(lambda t: log.append(("last", first.grad is None)))
    first.register_post_accumulate_grad_hook(lambda t: log.append(("first", t.grad is None)))
    net(an.randn(5, 3)).sum().backward()
    assert log == [("last", True), ("first", False)]


def test_hook_fires_once_per_backward_and_remove_stops_it():
    w = an.ones(3, requires_grad=True)
    calls = []
    h = w.register_post_accumulate_grad_hook(lambda t: calls.append(1))
    for _ in range(3):
        (w * 2).sum().backward()
    assert len(calls) == 3
    np.testing.assert_array_equal(w.grad.data, [6.0, 6.0, 6.0])  # accumulated as usual
    h.remove()
    h.remove()  # twice is harmless
    (w * 2).sum().backward()
    assert len(calls) == 3
    assert id(w) not in grad_hooks._hooks


def test_grad_does_not_fire_but_create_graph_backward_does():
    w = an.tensor(2.0, requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(lambda t: calls.append(t.grad))
    an.grad(w ** 3, w)
    assert calls == []
    (w ** 3).backward(create_graph=True)
    assert len(calls) == 1 and calls[0].item() == 12.0  # 3 w^2
    assert calls[0].requires_grad  # the graph of the gradient is kept


def test_leaf_root_and_unreached_consumer():
    w = an.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(lambda t: calls.append(t.grad.tolist()))
    w.backward(an.tensor([1.0, 1.0]))  # the leaf is the root
    assert calls == [[1.0, 1.0]]

    class NoGradForSecond(an.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * 1.0

        @staticmethod
        def backward(ctx, g):
            return None, None  # nothing flows on to b's other path

    w.grad = None
    u = w * 2  # a consumer of w that gets no gradient below
    loss = (w * 3).sum() + NoGradForSecond.apply(an.ones(2, requires_grad=True), u).sum()
    loss.backward()
    assert calls[-1] == [3.0, 3.0] and len(calls) == 2  # fired at the end of the walk


def test_queue_callback_runs_after_every_hook_once():
    a = an.ones(2, requires_grad=True)
    b = an.ones(2, requires_grad=True)
    log = []

    def hook(t):
        log.append("hook")
        if len(log) == 1:
            grad_hooks.queue_callback(lambda: log.append("end"))
    a.register_post_accumulate_grad_hook(hook)
    b.register_post_accumulate_grad_hook(hook)
    (a * b).sum().backward()
    assert log == ["hook", "hook", "end"]
    with pytest.raises(RuntimeError, match="no backward pass is running"):
        grad_hooks.queue_callback(lambda: None)


def test_bad_registrations_are_refused():
    x = an.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="does not require grad"):
        an.ones(2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(TypeError, match="must be callable"):
        x.register_post_accumulate_grad_hook(3)


def test_hook_entry_goes_with_its_tensor():
    import gc
    w = an.ones(2, requires_grad=True)
    w.register_post_accumulate_grad_hook(lambda t: None)
    key = id(w)
    assert key in grad_hooks._hooks
    del w
    gc.collect()
    assert key not in grad_hooks._hooks
