"""Central finite differences for the nn tests (independent of the engine under test).

``check_grads(fn, tensors)`` compares autonn's gradients of a random projection
``sum(fn(*tensors) * w)`` with central finite differences of the same projection, computed by
perturbing each tensor's data in place (so parameters that ``fn`` reaches through a module can be
listed in ``extra``). Use float64. When ``autonn.checking.gradcheck`` exists, it is run as well
(full Jacobian) on the explicit inputs.
"""
import numpy as np

import autonn as an


def numeric_grad(f, x, eps=1e-6):
    """d f() / d x by central differences, perturbing the array or Tensor ``x`` in place (a
    Tensor through setitem under no_grad: its array may be read-only while a graph holds it)."""
    arr = x.data if isinstance(x, an.Tensor) else x
    g = np.zeros(arr.shape, dtype=np.float64)
    it = np.nditer(arr, flags=["multi_index"])

    def put(idx, value):
        if isinstance(x, an.Tensor):
            with an.no_grad():
                x[idx] = value
        else:
            x[idx] = value
    for _ in it:
        idx = it.multi_index
        old = arr[idx].copy()
        put(idx, old + eps)
        fp = f()
        put(idx, old - eps)
        fm = f()
        put(idx, old)
        g[idx] = (fp - fm) / (2 * eps)
    return g


def get_gradcheck():
    """``autonn.checking.gradcheck`` when it exists, else None."""
    try:
        from autonn.checking import gradcheck
    except (ImportError, AttributeError):
        return None
    return gradcheck if callable(gradcheck) else None


def check_grads(fn, tensors, extra=(), atol=1e-6, rtol=1e-5, seed=0, eps=1e-6,
                use_gradcheck=True):
    """Assert that autonn's gradients of ``fn(*tensors)`` with respect to every tensor of
    ``tensors`` and ``extra`` that requires grad match central finite differences."""
    rng = np.random.default_rng(seed)
    leaves = [t for t in list(tensors) + list(extra) if t.requires_grad]
    with an.no_grad():
        out_shape = fn(*tensors).shape
    w = rng.standard_normal(out_shape)

    def projected():
        with an.no_grad():
            return float(np.sum(fn(*tensors).data * w))

    for t in leaves:
        t.grad = None
    (fn(*tensors) * an.tensor(w)).sum().backward()
    for i, t in enumerate(leaves):
        num = numeric_grad(projected, t, eps)
        ana = np.zeros_like(num) if t.grad is None else t.grad.data
        np.testing.assert_allclose(ana, num, atol=atol, rtol=rtol,
                                   err_msg=f"gradient of leaf {i} (shape {t.shape})")
    for t in leaves:
        t.grad = None
    gradcheck = get_gradcheck() if use_gradcheck else None
    if gradcheck is not None and any(t.requires_grad for t in tensors):
        assert gradcheck(fn, tuple(tensors))
