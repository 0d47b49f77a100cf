"""Nested containers of leaves ("trees", as JAX's pytrees): flatten, rebuild, map.

Lists, tuples (named tuples included), dicts and None are containers; everything else (Tensors,
arrays, numbers) is a leaf. The function transforms of ``autonn.func`` use these to differentiate
with respect to nested parameters, and optimisers over such structures can use them too.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class TreeDef:
    """The structure of a tree without its leaves: what ``tree_unflatten`` rebuilds from.

    ``kind`` is ``"leaf"``, ``"none"``, ``"list"``, ``"tuple"``, ``"namedtuple"`` or ``"dict"``;
    ``meta`` the dict keys or the named tuple's type; ``children`` the sub-structures.
    """
    kind: str
    meta: object = None
    children: tuple = ()

    @property
    def num_leaves(self):
        if self.kind == "leaf":
            return 1
        return sum(c.num_leaves for c in self.children)

    def __repr__(self):
        if self.kind == "leaf":
            return "*"
        if self.kind == "none":
            return "None"
        inner = ", ".join(repr(c) for c in self.children)
        if self.kind == "dict":
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.meta, self.children))
            return "{" + inner + "}"
        if self.kind == "list":
            return "[" + inner + "]"
        if self.kind == "namedtuple":
            return f"{self.meta.__name__}({inner})"
        return "(" + inner + ("," if len(self.children) == 1 else "") + ")"


_LEAF = TreeDef("leaf")


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def tree_flatten(tree):
    """``(leaves, treedef)``: the leaves of a nested list/tuple/dict in order, and its structure.

    Dict entries are visited in insertion order.

    >>> import autonn as an
    >>> leaves, spec = an.func.tree_flatten({"w": 1.0, "layers": [2.0, (3.0, None)]})
    >>> leaves
    [1.0, 2.0, 3.0]
    >>> an.func.tree_unflatten(spec, [10, 20, 30])
    {'w': 10, 'layers': [20, (30, None)]}
    """
    leaves = []
    return leaves, _flatten_into(tree, leaves)


def _flatten_into(tree, leaves):
    if tree is None:
        return TreeDef("none")
    if isinstance(tree, dict):
        keys = tuple(tree)
        return TreeDef("dict", keys, tuple(_flatten_into(tree[k], leaves) for k in keys))
    if isinstance(tree, (list, tuple)):
        kind = "list" if isinstance(tree, list) else \
            "namedtuple" if _is_namedtuple(tree) else "tuple"
        meta = type(tree) if kind == "namedtuple" else None
        return TreeDef(kind, meta, tuple(_flatten_into(c, leaves) for c in tree))
    leaves.append(tree)
    return _LEAF


def tree_unflatten(treedef, leaves):
    """The tree of structure ``treedef`` holding ``leaves`` (the inverse of ``tree_flatten``).

    >>> import autonn as an
    >>> _, spec = an.func.tree_flatten([1, {"a": 2}])
    >>> an.func.tree_unflatten(spec, ["x", "y"])
    ['x', {'a': 'y'}]
    """
    leaves = list(leaves)
    if len(leaves) != treedef.num_leaves:
        raise ValueError(f"tree_unflatten: the structure {treedef!r} holds {treedef.num_leaves} "
                         f"leaves, got {len(leaves)}")
    it = iter(leaves)
    return _build(treedef, it)


def _build(spec, it):
    if spec.kind == "leaf":
        return next(it)
    if spec.kind == "none":
        return None
    children = [_build(c, it) for c in spec.children]
    if spec.kind == "dict":
        return dict(zip(spec.meta, children))
    if spec.kind == "list":
        return children
    if spec.kind == "namedtuple":
        return spec.meta(*children)
    return tuple(children)


def tree_map(fn, tree, *rest):
    """Apply ``fn`` to every leaf (and the matching leaves of ``rest``, trees of the same
    structure); the result has ``tree``'s structure. An SGD step over a dict of parameters:

    >>> import autonn as an
    >>> params = {"w": an.tensor([1.0, 2.0]), "b": an.tensor(0.5)}
    >>> grads = an.func.grad(lambda p: (p["w"] ** 2).sum() + p["b"])(params)
    >>> an.func.tree_map(lambda p, g: p - 0.1 * g, params, grads)
    {'w': tensor([0.8, 1.6]), 'b': tensor(0.4)}
    """
    leaves, spec = tree_flatten(tree)
    others = []
    for r in rest:
        r_leaves, r_spec = tree_flatten(r)
        if r_spec != spec:
            raise ValueError(f"tree_map: structures differ: {spec!r} and {r_spec!r}")
        others.append(r_leaves)
    return tree_unflatten(spec, [fn(*args) for args in zip(leaves, *others)])
