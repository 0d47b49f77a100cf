"""What a backward needs stays as it was saved: version counters and read-only saved arrays.

Two mechanisms, one for each way of changing an array after the forward pass:

* **Version counters** (PyTorch's ``SavedVariable``). Every in-place Tensor method bumps the
  version of the memory it writes; the version lives on the memory block (the NumPy array
  that owns it), so views, ``detach()`` twins and the tensor itself share it, as views share
  PyTorch's counter. Each bump is stamped with the creation clock of tensors, so a node made
  before the stamp saved the value before the change: the walk checks the nodes older than the
  newest stamp (:func:`check_node`) and raises PyTorch's error for a changed input or output.
* **Read-only saved arrays**. An op whose gradient reads values (``Op.saves_values``) *holds*
  the Tensors it saves (its inputs and output): their arrays are made read-only until the last
  node holding them is freed by backward, or garbage collected, and then writable again (only
  the arrays that were writable before). A write that bypasses the Tensor methods (through
  ``.data``, ``.numpy()`` or the user's own array) raises NumPy's "assignment destination is
  read-only" instead of changing a saved value. When a saved array is a view (``w.reshape``,
  ``x.T``, ``x[0]``), the arrays it views (its ``.base`` chain up to the owner of the memory)
  are held read-only too, so a write through the viewed tensor (``w.data[0] = 5``) raises as
  well; other views of that memory made before the hold keep their own flags (NumPy cannot
  reach them).

An in-place op on a tensor that is part of a graph *rebases* it (as PyTorch): the tensor
object becomes the node of the in-place op, and its previous node moves to an *alias* tensor
holding the old value (a copy when anything may read it). Nodes made before the change still
name the tensor object among their inputs; :func:`route` sends them (and their gradient) to the
alias that holds the value they saw.
"""
import collections
import itertools
import weakref

import numpy as np

clock = itertools.count()  # numbers tensors as they are made, and stamps in-place changes
_tick = clock.__next__

# id(memory owner) -> [version, stamps of the last bumps, weakref to the owner]
_entries: dict[int, list] = {}
_KEEP = 64  # stamps kept per memory block: enough to name the version a node saw
last_stamp = -1  # creation-clock value of the newest in-place change (the walk's gate)
_deferred: list = []  # arrays whose unlock waited for their (still read-only) base


def _owner(a):
    """The ndarray that owns ``a``'s memory (views of views point to it), or the last ndarray
    before a non-NumPy base."""
    b = a.base
    while b.__class__ is np.ndarray or isinstance(b, np.ndarray):
        a, b = b, b.base
    return a


def _forget(key):
    return lambda ref: _entries.pop(key, None)


def _entry(arr):
    """``[version, recent stamps, owner ref]`` of ``arr``'s memory, made on its first change."""
    owner = arr if arr.base is None else _owner(arr)
    key = id(owner)
    entry = _entries.get(key)  # (an entry goes when its owner does: the id is its own)
    if entry is None:
        entry = _entries[key] = [0, collections.deque(maxlen=_KEEP),
                                 weakref.ref(owner, _forget(key))]
    return entry


def bump(arr):
    """Record an in-place change of ``arr``'s memory; returns the new version."""
    global last_stamp
    entry = _entry(arr)
    last_stamp = stamp = _tick()
    entry[0] += 1
    entry[1].append(stamp)
    return entry[0]


def bump_all(arrays):
    """:func:`bump` for each of ``arrays`` (distinct memory blocks changed in place together,
    as an optimizer step changes its parameters), with one stamp."""
    global last_stamp
    last_stamp = stamp = _tick()
    for arr in arrays:
        entry = _entry(arr)
        entry[0] += 1
        entry[1].append(stamp)


def version(arr):
    """The version of ``arr``'s memory: how many in-place changes it has seen (0: none)."""
    entry = _entries.get(id(_owner(arr)))
    return 0 if entry is None or entry[2]() is None else entry[0]


def _versions(arr, seq):
    """(version now, version when the tensor clock read ``seq``) of ``arr``'s memory."""
    entry = _entries.get(id(_owner(arr)))
    if entry is None or entry[2]() is None:
        return 0, 0
    now, stamps = entry[0], entry[1]
    then = now - sum(1 for s in stamps if s > seq)
    if stamps and stamps[0] > seq and len(stamps) < now:  # older stamps were dropped
        return now, f"{then} or earlier"
    return now, then


# ----------------------------------------------------------------- rebased tensors
def route(p, seq):
    """The tensor that held ``p``'s value and node when the tensor clock read ``seq``: ``p``
    itself, or the alias its first rebase after ``seq`` left behind."""
    history = getattr(p, "_history", None)  # (a slot left unset until a first rebase)
    if history is not None:
        for stamp, alias in history:
            if stamp > seq:
                return alias
    return p


def routed_parents(t):
    """``t``'s inputs as they were when ``t`` was made (see :func:`route`)."""
    parents = t._parents
    if parents and any(getattr(p, "_history", None) is not None for p in parents):
        seq = t._seq
        return tuple(route(p, seq) for p in parents)
    return parents


_TRUSTED = ("autonn.ops.", "autonn.inplace")  # rules that read values only from their arguments


def check_node(t):
    """Before ``t``'s rule runs: ``(parents, args, out)``, its inputs routed to what ``t`` saw,
    and the arguments for its rule. A value changed in place since ``t`` saved it is passed
    as a stand-in that raises PyTorch's error when the rule reads it (shapes and dtypes still
    answer), so only a rule that needs the changed value fails. Rules of ops defined outside
    autonn's op library may read saved arrays by other ways: for those any change raises.
    Only called for nodes older than the newest in-place change."""
    parents = routed_parents(t)
    op = t._op
    if not op.saves_values or parents is None:
        return parents, parents, t
    seq = t._seq
    trusted = op.__class__.__module__.startswith(_TRUSTED)
    args = list(parents)
    for i, p in enumerate(parents):
        now, then = _versions(p.data, seq)
        if now != then:
            err = _modified_error(op, f"input {i}", p, now, then)
            if not trusted:
                raise err
            args[i] = _stale(p, err)
    out = t
    now, then = _versions(t.data, seq)
    if now != then:
        err = _modified_error(op, "output", t, now, then)
        if not trusted:
            raise err
        out = _stale(t, err)
    return parents, args, out


def _stale(t, err):
    from .tensor import _Stale
    s = _Stale._make(t.data, t._op, t._parents)
    s._requires_grad, s._seq, s._error = t._requires_grad, t._seq, err
    return s


def _modified_error(op, which, t, now, then):
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{op.name}'s {which}, a tensor of shape {tuple(t.data.shape)} and dtype "
        f"{t.data.dtype}] is at version {now}; expected version {then} instead. Hint: the "
        "tensor was changed in place (an in-place method, setitem, +=, or an optimizer step) "
        f"after {op.name} saved it in the forward pass; run the backward first, or change a copy "
        "(an.tensor(t) copies)")


# ----------------------------------------------------------------- read-only saved arrays
# ``t._held`` counts the live nodes that hold ``t`` (its array read-only): positive when the
# array was writable and made read-only here, negative when it was read-only already (then it
# stays so). ``_flipped`` names the arrays made read-only here, so that Tensor methods may still
# write them, through any tensor sharing them. No lock: two threads changing one count at the
# same moment can at worst leave it off by one (an array read-only longer, or writable earlier,
# than needed; the version counters still catch Tensor-method writes).
_flipped: set = set()


def _first_hold(t):
    a = t.data
    if a.flags.writeable:
        a.setflags(write=False)
        _flipped.add(id(a))
        t._held = 1
    elif id(a) in _base_locks:  # read-only behind a held view: ours
        _flipped.add(id(a))
        t._held = 1
    else:
        t._held = -1
    if a.base is not None:
        _lock_bases(t, a.base)


def _unflip(a, _flipped=_flipped):
    try:
        _flipped.remove(id(a))
    except KeyError:  # (t.data was rebound since: that array is not ours)
        return
    if id(a) in _base_locks:  # a held view still reads it: writable when that lets go
        return
    try:
        a.setflags(write=True)
    except ValueError:  # a view whose base is still held: unlock it when the base is
        _deferred.append(a)
        return
    if _deferred:
        _retry_deferred()


def _retry_deferred():
    pending = list(_deferred)
    del _deferred[:]
    for d in pending:
        try:
            d.setflags(write=True)
        except ValueError:
            _deferred.append(d)


# The memory behind a held view: id(array) -> [count, array] for each array a held view's
# ``.base`` chain passes (held read-only here while any held view reads it: made read-only
# here, or read-only by a tensor's own hold, never an array that was read-only before), and
# id(tensor) -> the bases its hold counted (released exactly those).
_base_locks: dict[int, list] = {}
_view_bases: dict[int, list] = {}


def _lock_bases(t, b):
    """``t`` (just held) has a view of ``b``: hold ``b`` and the arrays below it read-only."""
    counted = []
    while b.__class__ is np.ndarray or isinstance(b, np.ndarray):  # (not bytes, mmap, capsules)
        k = id(b)
        entry = _base_locks.get(k)
        if entry is not None:
            entry[0] += 1
            counted.append(b)
        elif b.flags.writeable:
            b.setflags(write=False)
            _base_locks[k] = [1, b]
            counted.append(b)
        elif k in _flipped:  # read-only by a tensor's own hold: ours too, until both let go
            _base_locks[k] = [1, b]
            counted.append(b)
        b = b.base
    if counted:
        _view_bases[id(t)] = counted


def _unlock_bases(t):
    """``t``'s last hold let go: the arrays its view reads are writable again when no other
    hold needs them (the owner first: a view is writable only if its base is)."""
    counted = _view_bases.pop(id(t), None)
    if counted is None:
        return
    for b in reversed(counted):
        k = id(b)
        entry = _base_locks[k]
        if entry[0] > 1:
            entry[0] -= 1
            continue
        del _base_locks[k]
        if k not in _flipped:  # (else the tensor's own hold restores it when it lets go)
            try:
                b.setflags(write=True)
            except ValueError:
                _deferred.append(b)
    if _deferred:
        _retry_deferred()


def hold_node(node, inputs, op, _add=_flipped.add):
    """``node`` (just made by ``op``, an op that saves values) holds the inputs its rules read
    (``op.saved_inputs``) and itself (when ``op.saves_output``): their arrays stay read-only
    until the last node holding them lets go (:func:`release_node`).
    (:func:`_first_hold` inlined: this runs once per such op.)"""
    which = op.saved_inputs
    for p in inputs if which is None else map(inputs.__getitem__, which):
        c = p._held
        if c > 0:
            p._held = c + 1
        elif c < 0:
            p._held = c - 1
        else:
            a = p.data
            if a.flags.writeable:
                a.setflags(write=False)
                _add(id(a))
                p._held = 1
            elif _base_locks and id(a) in _base_locks:  # read-only behind a held view: ours
                _add(id(a))
                p._held = 1
            else:
                p._held = -1
            if a.base is not None:  # a view: the memory it reads is held too
                _lock_bases(p, a.base)
    if op.saves_output:
        _first_hold(node)  # a new tensor


def release_node(node):
    """``node`` is freed by a backward (or collected): it lets go of what it holds."""
    op = node._op
    parents = node._parents
    which = op.saved_inputs
    for p in parents if which is None else map(parents.__getitem__, which):
        c = p._held
        if c == 1:
            p._held = 0
            if _view_bases:
                _unlock_bases(p)
            _unflip(p.data)
        elif c > 1:
            p._held = c - 1
        elif c == -1:
            p._held = 0
            if _view_bases:
                _unlock_bases(p)
        elif c:
            p._held = c + 1
    if op.saves_output:
        c = node._held
        if c == 1:
            node._held = 0
            if _view_bases:
                _unlock_bases(node)
            _unflip(node.data)
        elif c:
            release_one(node)


def move_node_hold(src, dst):
    """The node of ``src`` now lives on ``dst`` (a rebase): its hold on its own output moves
    too (both share the array), when it holds it."""
    if not src._op.saves_output:
        return
    release_one(src)
    c = dst._held
    if c:
        dst._held = c + 1 if c > 0 else c - 1
    else:
        _first_hold(dst)


def release_one(t):
    c = t._held
    if c > 1:
        t._held = c - 1
    elif c < -1:
        t._held = c + 1
    elif c == 1:
        t._held = 0
        if _view_bases:
            _unlock_bases(t)
        _unflip(t.data)
    elif c == -1:
        t._held = 0
        if _view_bases:
            _unlock_bases(t)


def _held_by_us(chain):
    return any(id(x) in _flipped or id(x) in _base_locks for x in chain)


class unlocked:
    """Context manager: ``t``'s array writable for an in-place write that bumps its version
    (an in-place method or an optimizer step), read-only again afterwards if a graph holds it.
    Arrays read-only for another reason (the user's, broadcast views) raise ValueError.

    >>> import autonn as an
    >>> w = an.ones(2, requires_grad=True); y = (w * w).sum()
    >>> with unlocked(w) as arr:
    ...     arr += 1
    >>> w.data.flags.writeable, w._version
    (False, 1)
    """
    __slots__ = ("t", "undo")

    def __init__(self, t):
        self.t = t

    def __enter__(self):
        a = self.t.data
        self.undo = None
        if a.flags.writeable:
            return a
        chain = [a]
        b = a.base
        while isinstance(b, np.ndarray):
            chain.append(b)
            b = b.base
        undo = []
        try:
            if not _held_by_us(chain):
                raise ValueError
            for x in reversed(chain):  # the base first: a view is writable only if it is
                if not x.flags.writeable:
                    x.setflags(write=True)
                    undo.append(x)
        except ValueError:
            for x in reversed(undo):
                x.setflags(write=False)
            raise ValueError(
                f"in-place write: the tensor's array (shape {a.shape}, dtype {a.dtype}) is "
                "read-only (a read-only NumPy array or a broadcast view); write to a copy") \
                from None
        self.undo = undo
        return a

    def __exit__(self, *exc):
        if self.undo:
            for x in reversed(self.undo):
                x.setflags(write=False)
        bump(self.t.data)
        return False
