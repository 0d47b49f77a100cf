"""``autonn bench``: autonn against plain NumPy doing the same work (and PyTorch when installed).

Each row is measured in short interleaved bursts with pauses (this kind of machine slows
sustained two-thread load after a few seconds): every round times each contender on the same
inputs, the per-round ratio against NumPy is kept, and the table reports medians. autonn runs
eager and compiled (``an.compile``). With PyTorch installed the measuring process imports it
before autonn (the order that used to slow autonn down); JAX ``jit``, when installed, is timed
in a process of its own against its own NumPy baseline (XLA's thread pool slows every other
contender sharing its process).

    autonn bench --quick        # under a minute
    autonn bench                # more rounds, 1e7-element activations too
"""
import gc
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

F32 = np.float32


# ----------------------------------------------------------------- timing
def _time_per_call(fn, min_time=0.05, max_calls=200):
    """Median seconds per call over a short burst."""
    fn()  # warm
    times = []
    start = time.perf_counter()
    while len(times) < max_calls and (time.perf_counter() - start < min_time or len(times) < 3):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _rounds(contenders, rounds, min_time, pause):
    """Interleave contenders; return {name: [seconds per round]}."""
    out = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            gc.collect()
            out[name].append(_time_per_call(fn, min_time))
        time.sleep(pause)
    return out


def _summarise(label, per_round, unit_scale=1e3, unit="ms", per=None):
    """Row dict: median time of each contender and median per-round ratio to numpy."""
    row = {"workload": label}
    base = per_round.get("numpy")
    for name, ts in per_round.items():
        row[name] = statistics.median(ts) * unit_scale / (per or 1)
        if base is not None and name != "numpy":
            row[f"{name}/numpy"] = statistics.median(t / b for t, b in zip(ts, base))
    row["unit"] = unit
    return row


# ----------------------------------------------------------------- MLP step
def _numpy_mlp(sizes, batch, seed=0):
    rng = np.random.default_rng(seed)
    Ws = [(rng.uniform(-1, 1, (a, b)) / np.sqrt(a)).astype(F32) for a, b in zip(sizes, sizes[1:])]
    bs = [np.zeros(b, F32) for b in sizes[1:]]
    x = rng.standard_normal((batch, sizes[0])).astype(F32)
    y = rng.integers(0, sizes[-1], batch)
    lr = F32(0.01)

    def step():
        hs = [x]
        for i, (W, b) in enumerate(zip(Ws, bs)):
            z = hs[-1] @ W + b
            hs.append(np.maximum(z, 0) if i < len(Ws) - 1 else z)
        logits = hs[-1]
        m = logits.max(axis=1, keepdims=True)
        e = np.exp(logits - m)
        s = e.sum(axis=1, keepdims=True)
        p = e / s
        loss = float(np.mean(np.log(s[:, 0]) + m[:, 0] - logits[np.arange(batch), y]))
        d = p
        d[np.arange(batch), y] -= 1
        d /= batch
        for i in range(len(Ws) - 1, -1, -1):
            dW = hs[i].T @ d
            db = d.sum(axis=0)
            if i:
                d = (d @ Ws[i].T) * (hs[i] > 0)
            Ws[i] -= lr * dW
            bs[i] -= lr * db
        return loss
    return step, (Ws, bs, x, y)


def _autonn_mlp(sizes, batch, init):
    import autonn as an
    from autonn.inplace import overwrite
    Ws, bs, x, y = init
    layers = []
    for i, (W, b) in enumerate(zip(Ws, bs)):
        lin = an.nn.Linear(W.shape[0], W.shape[1], dtype=F32)
        overwrite(lin.weight, W)
        overwrite(lin.bias, b)
        layers.append(lin)
        if i < len(Ws) - 1:
            layers.append(an.nn.ReLU())
    model = an.nn.Sequential(*layers)
    opt = an.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = an.nn.CrossEntropyLoss()
    xt, yt = an.tensor(x), an.tensor(y)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss
    return step


def _torch_mlp(sizes, batch, init):
    import torch
    Ws, bs, x, y = init
    layers = []
    for i, (W, b) in enumerate(zip(Ws, bs)):
        lin = torch.nn.Linear(W.shape[0], W.shape[1])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < len(Ws) - 1:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss
    return step


def _jax_mlp(sizes, batch, init):
    import jax
    import jax.numpy as jnp
    Ws, bs, x, y = init
    params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in zip(Ws, bs)]
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def loss_fn(params):
        h = xj
        for i, (W, b) in enumerate(params):
            h = h @ W + b
            if i < len(params) - 1:
                h = jnp.maximum(h, 0)
        lp = jax.nn.log_softmax(h, axis=1)
        return -jnp.mean(lp[jnp.arange(batch), yj])

    @jax.jit
    def update(params):
        loss, grads = jax.value_and_grad(loss_fn)(params)
        return loss, [(W - 0.01 * gW, b - 0.01 * gb) for (W, b), (gW, gb) in zip(params, grads)]
    state = [params]

    def step():
        loss, state[0] = update(state[0])
        loss.block_until_ready()
        return loss
    return step


def bench_mlp(sizes, batch, rounds, min_time, pause, torch_ok):
    import autonn as an
    np_step, init = _numpy_mlp(sizes, batch)
    contenders = {"numpy": np_step, "autonn": _autonn_mlp(sizes, batch, _numpy_mlp(sizes, batch)[1])}
    compiled = an.compile(_autonn_mlp(sizes, batch, _numpy_mlp(sizes, batch)[1]))
    compiled()  # the recording call
    contenders["compiled"] = compiled
    if torch_ok:
        contenders["torch"] = _torch_mlp(sizes, batch, _numpy_mlp(sizes, batch)[1])
    label = f"MLP train step, batch {batch}, {'-'.join(map(str, sizes))}"
    return _summarise(label, _rounds(contenders, rounds, min_time, pause))


# ----------------------------------------------------------------- op overhead
def bench_chain(n_ops, rounds, min_time, pause, torch_ok):
    import autonn as an
    x0 = np.linspace(0.1, 0.4, 4)

    def numpy_forward():
        y = x0
        for _i in range(n_ops // 2):
            y = y * 1.0001
            y = y + 0.001
        return y

    def autonn_fb():
        x = an.tensor(x0, requires_grad=True)
        y = x
        for _i in range(n_ops // 2):
            y = y * 1.0001
            y = y + 0.001
        y.sum().backward()

    def chain_fb(x):
        y = x
        for _i in range(n_ops // 2):
            y = y * 1.0001
            y = y + 0.001
        y.sum().backward()
    compiled_fb = an.compile(chain_fb)
    xc = an.tensor(x0, requires_grad=True)
    compiled_fb(xc)  # the recording call (gradients accumulate into xc.grad: the same work)

    contenders = {"numpy": numpy_forward, "autonn": autonn_fb, "compiled": lambda: compiled_fb(xc)}
    if torch_ok:
        import torch
        xt0 = torch.from_numpy(x0)

        def torch_fb():
            x = xt0.clone().requires_grad_()
            y = x
            for _i in range(n_ops // 2):
                y = y * 1.0001
                y = y + 0.001
            y.sum().backward()
        contenders["torch"] = torch_fb
    row = _summarise(f"per op, {n_ops}-op chain on a (4,) tensor, fwd+bwd (numpy: fwd only)",
                     _rounds(contenders, rounds, min_time, pause), unit_scale=1e6, unit="us",
                     per=n_ops)
    return row


# ----------------------------------------------------------------- activations
def _numpy_act(name, x, g):
    if name == "relu":
        def f():
            y = np.maximum(x, 0)
            return y, g * (x > 0)
    elif name == "sigmoid":
        def f():
            y = 1 / (1 + np.exp(-x))
            return y, g * y * (1 - y)
    elif name == "tanh":
        def f():
            y = np.tanh(x)
            return y, g * (1 - y * y)
    else:
        def f():  # NumPy has no erf ufunc: the tanh form is the vectorised NumPy GELU
            c = np.float32(np.sqrt(2 / np.pi))
            inner = c * (x + np.float32(0.044715) * x ** 3)
            t = np.tanh(inner)
            y = 0.5 * x * (1 + t)
            dy = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * np.float32(0.044715) * x * x)
            return y, g * dy
    return f


def bench_activation(name, n, rounds, min_time, pause, torch_ok):
    import autonn as an
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(F32)
    g = rng.standard_normal(n).astype(F32)
    fn = getattr(an, name)
    xt = an.tensor(x, requires_grad=True)
    gt = an.tensor(g)

    def autonn_fb():
        y = fn(xt)
        return an.grad(y, xt, gt)

    contenders = {"numpy": _numpy_act(name, x, g), "autonn": autonn_fb}
    if torch_ok:
        import torch
        tx = torch.from_numpy(x).requires_grad_()
        tg = torch.from_numpy(g)
        tfn = getattr(torch.nn.functional, name) if name in ("relu", "gelu") else getattr(torch, name)

        def torch_fb():
            y = tfn(tx)
            return torch.autograd.grad(y, tx, tg)
        contenders["torch"] = torch_fb
    return _summarise(f"{name} fwd+bwd, {n:.0e} elements", _rounds(contenders, rounds, min_time, pause))


# ----------------------------------------------------------------- start-up
def _fresh(code, repeats, **env):
    env = dict(os.environ, **env)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


_FIRST_STEP = """
import autonn as an, numpy as np
sizes, batch = {sizes}, {batch}
layers = []
for a, b in zip(sizes, sizes[1:]):
    layers += [an.nn.Linear(a, b, dtype=np.float32), an.nn.ReLU()]
m = an.nn.Sequential(*layers[:-1])
opt = an.optim.SGD(m.parameters(), lr=0.1)
x = an.randn(batch, sizes[0], dtype=np.float32)
loss = an.nn.CrossEntropyLoss()(m(x), an.tensor(np.arange(batch) % sizes[-1]))
loss.backward(); opt.step()
"""


_COMPILED_STEPS = """
def step():
    opt.zero_grad()
    loss = an.nn.CrossEntropyLoss()(m(x), y)
    loss.backward()
    opt.step()
    return loss
y = an.tensor(np.arange(batch) % sizes[-1])
an.compile(step)()
"""


def bench_startup(repeats, torch_ok):
    """Fresh processes: ``import`` alone, then import + one training step. The 64-128-10 step
    runs only NumPy twins (small arrays); the 784-512-256-10 step runs Numba kernels (fused
    bias+relu, relu backward, SGD), measured with the kernel cache warm and with an empty one
    (every kernel it uses compiled in that process)."""
    empty = _fresh("pass", repeats)
    rows = []
    row = {"workload": "import in a fresh process (interpreter start subtracted)", "unit": "s",
           "numpy": _fresh("import numpy", repeats) - empty,
           "autonn": _fresh("import autonn", repeats) - empty}
    if torch_ok:
        row["torch"] = _fresh("import torch", repeats) - empty
    rows.append(row)
    for sizes, batch in (((64, 128, 10), 64), ((784, 512, 256, 10), 128)):
        code = _FIRST_STEP.format(sizes=sizes, batch=batch)
        label = "-".join(map(str, sizes))
        _fresh(code, 1)  # make sure the kernel cache is warm
        rows.append({"workload": f"fresh process: import + first {label} step, cache warm",
                     "unit": "s", "autonn": _fresh(code, repeats) - empty})
    code = _FIRST_STEP.format(sizes=(784, 512, 256, 10), batch=128).split("loss = ")[0]
    code += _COMPILED_STEPS
    _fresh(code, 1)
    rows.append({"workload": "fresh process: import + first compiled 784-512-256-10 step "
                 "(records), cache warm", "unit": "s", "compiled": _fresh(code, repeats) - empty})
    with tempfile.TemporaryDirectory() as cache:  # an empty Numba cache: compile everything
        rows.append({"workload": f"fresh process: import + first {label} step, cache cold",
                     "unit": "s", "autonn": _fresh(code, 1, NUMBA_CACHE_DIR=cache) - empty})
    return rows


# ----------------------------------------------------------------- table
def _format(rows):
    names = ["numpy", "autonn", "compiled", "torch", "jax"]
    header = f"{'workload':<66} {'unit':>4} " + " ".join(f"{n:>9}" for n in names) + \
        f" {'autonn/np':>9} {'compil/np':>9} {'torch/np':>9} {'jax/np':>9}"
    lines = [header, "-" * len(header)]
    for r in rows:
        vals = " ".join(f"{r[n]:>9.4g}" if n in r else f"{'':>9}" for n in names)
        ratios = " ".join(f"{r[k]:>8.2f}x" if k in r else f"{'':>9}" for k in
                          ("autonn/numpy", "compiled/numpy", "torch/numpy", "jax/numpy"))
        lines.append(f"{r['workload']:<66} {r['unit']:>4} {vals} {ratios}")
    return "\n".join(lines)


def _torch_available():
    try:
        import torch  # noqa: F401
        torch.set_num_threads(os.cpu_count() or 1)
        return True
    except ImportError:
        return False


_MEASURE = """
import json, sys
try:
    import torch  # noqa: F401  (before autonn: the import order that used to slow autonn down)
except ImportError:
    pass
from autonn import bench
bench._measure(json.loads(sys.argv[1]), sys.argv[2])
"""

_JAX = """
import json, sys
from autonn import bench
bench._measure_jax(json.loads(sys.argv[1]), sys.argv[2])
"""


def _in_this_process(measure, opts):
    """``measure(opts, out)`` run here (the measurements of a process that has no PyTorch to
    import first, or tests); its rows."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "rows.json")
        measure(opts, out)
        with open(out) as f:
            return json.load(f)


def _in_process(code, opts):
    """Run ``code`` (which writes its rows to a JSON file) in a fresh interpreter; its rows."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "rows.json")
        subprocess.run([sys.executable, "-c", code, json.dumps(opts), out], check=True)
        with open(out) as f:
            return json.load(f)


def _plan(quick):
    rounds, min_time, pause = (5, 0.03, 0.3) if quick else (11, 0.08, 0.5)
    mlps = [((64, 128, 10), 64), ((784, 512, 256, 10), 128)]
    if not quick:
        mlps.append(((1024, 2048, 2048, 10), 512))
    return rounds, min_time, pause, mlps


def _measure_jax(opts, out):
    """JAX jit MLP steps against NumPy, alone in this process (written to ``out``)."""
    rounds, min_time, pause, mlps = _plan(opts["quick"])
    rows = []
    for sizes, batch in mlps:
        r = rounds if sizes[0] < 1000 else max(3, rounds // 2)
        np_step, init = _numpy_mlp(sizes, batch)
        contenders = {"numpy": np_step, "jax": _jax_mlp(sizes, batch, _numpy_mlp(sizes, batch)[1])}
        rows.append(_summarise(f"MLP train step, batch {batch}, {'-'.join(map(str, sizes))}",
                               _rounds(contenders, r, min_time, pause)))
    with open(out, "w") as f:
        json.dump(rows, f)


def run(args):
    """Entry point of ``autonn bench``: the measurements run in a fresh process that imports
    PyTorch (when installed) before autonn; JAX (when installed) in another."""
    if getattr(args, "distributed", False):  # autonn/distributed/benchmark.py
        from .distributed.benchmark import run as run_distributed
        return run_distributed(args)
    opts = {"quick": bool(getattr(args, "quick", False))}
    if importlib.util.find_spec("torch") is None:
        rows = _in_this_process(_measure, opts)  # (each row is printed as it is measured)
    else:
        rows = _in_process(_MEASURE, opts)
    if importlib.util.find_spec("jax") is not None:
        print("JAX jit, in a process of its own (its own NumPy baseline):", flush=True)
        jax_rows = {r["workload"]: r for r in _in_process(_JAX, opts)}
        for r in rows:
            j = jax_rows.get(r["workload"])
            if j is not None:
                r["jax"], r["jax/numpy"] = j["jax"], j["jax/numpy"]
                print(_format([j]).splitlines()[-1], flush=True)
    print(RATIO_NOTE)
    out = getattr(args, "json", None)
    if out:
        with open(out, "w") as f:
            json.dump({"machine": _machine(), "rows": rows}, f, indent=1)
    return 0


#: printed under the table: why a ratio can differ from the quotient of the two times beside it
RATIO_NOTE = ("times are medians over the rounds; each x/np ratio is the median of the per-round "
              "ratios (same inputs, interleaved),\nso on a busy machine it can differ from the "
              "quotient of the two median times.")


def _measure(opts, out):
    """The measurements of ``autonn bench`` (rows written to ``out`` as JSON)."""
    quick = opts["quick"]
    rounds, min_time, pause, mlps = _plan(quick)
    torch_ok = _torch_available()
    rows = []
    print(_machine())
    print("\n".join(_format([]).splitlines()[:2]), flush=True)   # the header

    def add(*new_rows):  # each row is printed once, when it is measured
        for row in new_rows:
            rows.append(row)
            print(_format([row]).splitlines()[-1], flush=True)
    for sizes, batch in mlps:
        r = rounds if sizes[0] < 1000 else max(3, rounds // 2)
        add(bench_mlp(sizes, batch, r, min_time, pause, torch_ok))
    add(bench_chain(200, rounds, min_time, pause, torch_ok))
    for n in ((10 ** 6,) if quick else (10 ** 6, 10 ** 7)):
        for name in ("relu", "sigmoid", "tanh", "gelu"):
            add(bench_activation(name, n, rounds, min_time, pause, torch_ok))
    add(*bench_startup(3 if quick else 7, torch_ok))
    with open(out, "w") as f:
        json.dump(rows, f)


def _machine():
    import numpy
    parts = [f"python {platform.python_version()}", f"numpy {numpy.__version__}"]
    try:
        import numba
        parts.append(f"numba {numba.__version__}")
    except ImportError:
        pass
    for mod in ("torch", "jax"):
        if importlib.util.find_spec(mod) is not None:
            parts.append(f"{mod} {importlib.metadata.version(mod)}")
    return f"{platform.machine()}, {os.cpu_count()} cores; " + ", ".join(parts)


if __name__ == "__main__":
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json")
    sys.exit(run(p.parse_args()))
