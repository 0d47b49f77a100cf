"""an.func transforms over nested lists, tuples and dicts (JAX / HIPS autograd style), has_aux,
elementwise_grad and the tree helpers. Oracles: hand-derived derivatives and finite differences."""
from collections import namedtuple

import numpy as np
import pytest

import autonn as an
from autonn import func

Pair = namedtuple("Pair", "w b")


def _close(t, expected):
    np.testing.assert_allclose(np.asarray(t.data), expected, rtol=1e-12, atol=1e-12)


def test_tree_flatten_round_trip_keeps_structure_and_order():
    tree = {"b": [1.0, (2.0, None)], "a": Pair(3.0, {"x": 4.0}), "c": ()}
    leaves, spec = func.tree_flatten(tree)
    assert leaves == [1.0, 2.0, 3.0, 4.0]  # insertion order of the dict, depth first
    rebuilt = func.tree_unflatten(spec, leaves)
    assert rebuilt == tree and isinstance(rebuilt["a"], Pair)
    assert list(rebuilt) == ["b", "a", "c"]


def test_tree_unflatten_with_wrong_leaf_count_names_both_counts():
    _, spec = func.tree_flatten([1, 2, 3])
    with pytest.raises(ValueError, match="holds 3 leaves, got 2"):
        func.tree_unflatten(spec, [1, 2])


def test_tree_map_over_two_trees_and_mismatched_structures():
    assert func.tree_map(lambda a, b: a + b, {"x": [1, 2]}, {"x": [10, 20]}) == {"x": [11, 22]}
    with pytest.raises(ValueError, match="structures differ"):
        func.tree_map(lambda a, b: a, {"x": 1}, {"y": 1})


def _mlp_loss(params, x):
    """A two-layer net over a dict of lists: the gradient is derived by hand below."""
    h = an.tanh(x @ params["layers"][0]["w"] + params["layers"][0]["b"])
    return (h @ params["out"]).sum()


def test_grad_of_a_dict_of_lists_matches_the_hand_derived_gradient():
    rng = np.random.default_rng(0)
    w, b, v = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(4, 2))
    x = rng.normal(size=(5, 3))
    params = {"layers": [{"w": an.tensor(w), "b": b}], "out": an.tensor(v)}  # arrays are leaves too
    g = func.grad(_mlp_loss)(params, an.tensor(x))
    assert set(g) == {"layers", "out"} and isinstance(g["layers"], list)
    h = np.tanh(x @ w + b)
    dh = np.ones((5, 2)) @ v.T * (1 - h ** 2)
    _close(g["out"], h.T @ np.ones((5, 2)))
    _close(g["layers"][0]["w"], x.T @ dh)
    _close(g["layers"][0]["b"], dh.sum(0))


def test_grad_of_a_namedtuple_and_tuple_argnums():
    p = Pair(an.tensor([1.0, 2.0]), an.tensor(0.5))
    gp, gy = func.grad(lambda p, y: ((p.w * y).sum() + p.b) ** 2, argnums=(0, 1))(p, an.tensor(3.0))
    s = 1 * 3 + 2 * 3 + 0.5
    assert isinstance(gp, Pair)
    _close(gp.w, 2 * s * np.array([3.0, 3.0]))
    _close(gp.b, 2 * s)
    _close(gy, 2 * s * 3.0)


def test_value_and_grad_and_grad_with_aux():
    def f(x):
        y = (x ** 2).sum()
        return y, {"norm": y.data ** 0.5, "double": x * 2}
    (value, aux), g = func.value_and_grad(f, has_aux=True)(an.tensor([3.0, 4.0]))
    _close(value, 25.0)
    assert aux["norm"] == 5.0 and not aux["double"].requires_grad
    _close(aux["double"], [6.0, 8.0])
    _close(g, [6.0, 8.0])
    g2, aux2 = func.grad(f, has_aux=True)(an.tensor([1.0, 0.0]))
    _close(g2, [2.0, 0.0])
    assert aux2["norm"] == 1.0


def test_has_aux_requires_a_pair():
    with pytest.raises(TypeError, match="has_aux=True"):
        func.grad(lambda x: x.sum(), has_aux=True)(an.ones(2))


def test_vjp_with_tree_input_and_tree_output():
    a, b = an.tensor([1.0, 2.0]), an.tensor([3.0, -1.0])
    out, vjp_fn = func.vjp(lambda p: {"prod": p[0] * p[1], "sq": p[0] ** 2}, [a, b])
    _close(out["prod"], [3.0, -2.0])
    (g,) = vjp_fn({"prod": an.ones(2), "sq": an.tensor([1.0, 10.0])})
    _close(g[0], np.array([3.0, -1.0]) + 2 * np.array([1.0, 2.0]) * [1.0, 10.0])
    _close(g[1], [1.0, 2.0])
    with pytest.raises(ValueError, match="structure"):
        vjp_fn([an.ones(2), an.ones(2)])


def test_vjp_with_aux():
    out, vjp_fn, aux = func.vjp(lambda x: (x * 3, "tag"), an.ones(2), has_aux=True)
    assert aux == "tag"
    _close(vjp_fn(an.ones(2))[0], [3.0, 3.0])


def test_jvp_over_dicts_matches_finite_differences():
    def f(p):
        return {"y": an.sin(p["a"]) * p["b"], "z": (p["a"] ** 2).sum()}
    a, b = np.array([0.3, -1.2]), np.array([2.0, 0.5])
    ta, tb = np.array([1.0, -0.5]), np.array([0.25, 2.0])
    out, t = func.jvp(f, ({"a": an.tensor(a), "b": an.tensor(b)},),
                      ({"a": an.tensor(ta), "b": an.tensor(tb)},))
    h = 1e-6

    def fd(fn):
        return (fn(a + h * ta, b + h * tb) - fn(a - h * ta, b - h * tb)) / (2 * h)
    np.testing.assert_allclose(t["y"].data, fd(lambda a, b: np.sin(a) * b), rtol=1e-7)
    np.testing.assert_allclose(t["z"].data, fd(lambda a, b: (a ** 2).sum()), rtol=1e-7)
    with pytest.raises(ValueError, match="structure"):
        func.jvp(f, ({"a": an.tensor(a), "b": an.tensor(b)},), ({"a": an.tensor(ta)},))


def test_jacobian_nests_output_structure_outside_input_structure():
    x, y = an.tensor([1.0, 2.0]), an.tensor(3.0)
    jac = func.jacobian(lambda p: {"s": p["x"] * p["y"]})({"x": x, "y": y})
    _close(jac["s"]["x"], np.diag([3.0, 3.0]))
    _close(jac["s"]["y"], [1.0, 2.0])


def test_jacobian_and_hessian_with_aux_and_lists():
    jac, aux = func.jacobian(lambda x: (x ** 2, 7), has_aux=True)(an.tensor([1.0, 3.0]))
    _close(jac, np.diag([2.0, 6.0]))
    assert aux == 7
    hess = func.hessian(lambda ps: (ps[0] ** 2 * ps[1]).sum())([an.tensor([1.0, 2.0]), an.tensor(3.0)])
    # d2/dx2 = 2y I, d2/dxdy = 2x, d2/dy2 = 0
    _close(hess[0][0], 2 * 3.0 * np.eye(2))
    _close(hess[0][1], [2.0, 4.0])
    _close(hess[1][0], [2.0, 4.0])
    _close(hess[1][1], 0.0)


def test_hvp_over_a_dict():
    p = {"x": an.tensor([1.0, 2.0])}
    _, hv = func.hvp(lambda q: (q["x"] ** 3).sum(), p, {"x": an.ones(2)})
    _close(hv["x"], [6.0, 12.0])


@pytest.mark.parametrize("fn, deriv", [
    (an.tanh, lambda x: 1 - np.tanh(x) ** 2),
    (an.exp, np.exp),
    (lambda x: x ** 3, lambda x: 3 * x ** 2),
])
def test_elementwise_grad_is_the_derivative_at_every_element(fn, deriv):
    x = np.linspace(-2, 2, 7)
    _close(func.elementwise_grad(fn)(an.tensor(x)), deriv(x))


def test_elementwise_grad_differentiates_again():
    x = np.array([0.5, -1.0])
    d2 = func.elementwise_grad(func.elementwise_grad(an.sin))(an.tensor(x))
    _close(d2, -np.sin(x))


def test_sgd_over_a_parameter_tree_with_the_helpers():
    params = {"w": an.tensor([1.0, -2.0]), "b": [an.tensor(0.5)]}
    loss = lambda p: ((p["w"] - 3.0) ** 2).sum() + (p["b"][0] + 1.0) ** 2
    for _ in range(200):
        g = func.grad(loss)(params)
        params = func.tree_map(lambda p, d: p - 0.1 * d, params, g)
    _close(params["w"], [3.0, 3.0])
    np.testing.assert_allclose(params["b"][0].item(), -1.0, atol=1e-12)


def test_an_integer_leaf_is_refused_with_its_dtype():
    with pytest.raises(TypeError, match="int64"):
        func.grad(lambda p: p[0].sum())([np.array([1, 2])])
