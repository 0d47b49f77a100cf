"""Hooks that run during ``backward()``: when a leaf's ``.grad`` is complete, and when the walk ends.

``Tensor.register_post_accumulate_grad_hook(hook)`` (PyTorch's name) calls ``hook(tensor)`` once
per ``backward()`` as soon as the leaf's ``.grad`` holds everything this backward adds to it:
right after the last node that feeds the leaf has been visited (the walk visits nodes newest
first), so later parts of the backward pass still run after it. ``queue_callback(fn)``, called
from inside a hook, runs ``fn()`` once when that backward ends. ``grad()`` never calls these
hooks (it does not touch ``.grad``).

They cost the engine nothing while no hook is registered: ``backward()`` checks one dict. With
hooks registered, each backward first finds the hooked leaves in its graph (one pass over it).

>>> import autonn as an
>>> w = an.ones(2, requires_grad=True)
>>> seen = []
>>> handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
>>> (w * w).sum().backward(); seen
[[2.0, 2.0]]
>>> handle.remove(); (w * w).sum().backward(); seen
[[2.0, 2.0]]
"""
import weakref

__all__ = ["register_post_accumulate_grad_hook", "queue_callback", "RemovableHandle"]

_hooks = {}      # id(leaf) -> {handle id: hook}; an entry leaves with its tensor (weakref.finalize)
_running = []    # the plans of the backward passes under way (a hook may call backward again)


class RemovableHandle:
    """What registering a hook returns: ``remove()`` unregisters it (twice is harmless)."""

    def __init__(self, key):
        self._key = key

    def remove(self):
        tid, hid = self._key
        table = _hooks.get(tid)
        if table is not None:
            table.pop(hid, None)
            if not table:
                del _hooks[tid]


def register_post_accumulate_grad_hook(tensor, hook):
    """Call ``hook(tensor)`` in every ``backward()`` once ``tensor.grad`` is complete; ``tensor``
    must be a leaf that requires grad. Returns a handle whose ``remove()`` unregisters the hook.

    >>> import autonn as an
    >>> b = an.zeros(3, requires_grad=True)
    >>> h = b.register_post_accumulate_grad_hook(lambda t: print("ready", t.grad))
    >>> (b + 1).sum().backward()
    ready tensor([1., 1., 1.])
    """
    if not callable(hook):
        raise TypeError(f"register_post_accumulate_grad_hook: hook must be callable, got "
                        f"{type(hook).__name__}")
    if tensor._op is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors "
                           f"(this one was made by {tensor._op.name})")
    if not tensor.requires_grad:
        raise RuntimeError("cannot register a post accumulate grad hook on a tensor that does "
                           "not require grad")
    tid = id(tensor)
    table = _hooks.get(tid)
    if table is None:
        table = _hooks[tid] = {}
        weakref.finalize(tensor, _hooks.pop, tid, None)  # ids are reused once the tensor is gone
    hid = max(table, default=-1) + 1
    table[hid] = hook
    return RemovableHandle((tid, hid))


def queue_callback(fn):
    """Run ``fn()`` once when the backward pass now under way ends (call it from inside a hook).

    >>> import autonn as an
    >>> from autonn.grad_hooks import queue_callback
    >>> w = an.ones(1, requires_grad=True)
    >>> h = w.register_post_accumulate_grad_hook(lambda t: queue_callback(lambda: print("done")))
    >>> (w * 3).sum().backward()
    done
    """
    if not _running:
        raise RuntimeError("queue_callback: no backward pass is running (call it from a hook)")
    _running[-1].callbacks.append(fn)


class _Plan:
    """The hooked leaves of one backward's graph: for each op node, the hooked leaves it feeds,
    and for each such leaf how many of its consumers the walk has still to visit."""

    def __init__(self, nodes, hooked_roots):
        self.feeds, self.left, self.callbacks = {}, {}, []
        for t in nodes:
            leaves = [p for p in dict.fromkeys(t._parents or ())
                      if p._op is None and id(p) in _hooks and p._requires_grad]
            if leaves:
                self.feeds[t] = leaves
                for p in leaves:
                    self.left[p] = self.left.get(p, 0) + 1
        self.reached = dict.fromkeys(hooked_roots)  # a leaf root gets its gradient first

    def visited(self, node):
        """The walk has sent ``node``'s gradient to its inputs: fire the leaves it completed."""
        for leaf in self.feeds.get(node, ()):
            n = self.left[leaf] - 1
            self.left[leaf] = n
            if n == 0:
                _fire(leaf)
            else:
                self.reached[leaf] = None

    def finish(self):
        """The walk is over: fire the reached leaves whose other consumers got no gradient
        (their rules gave None, or nothing flowed to them), then the queued callbacks."""
        for leaf in self.reached:
            if self.left.get(leaf, -1) != 0:  # (-1: a leaf root, fed by no node)
                _fire(leaf)
        for fn in self.callbacks:
            fn()


def _fire(leaf):
    for hook in list(_hooks.get(id(leaf), {}).values()):
        hook(leaf)


def plan(roots, toposort):
    """The plan of a backward from ``roots``, or None when no hooked leaf is in its graph."""
    nodes = toposort(roots, leaves=False)
    hooked_roots = [r for r in roots if r._op is None and id(r) in _hooks]
    p = _Plan(nodes, hooked_roots)
    return p if p.feeds or hooked_roots else None
