"""``autonn compress IN OUT``: load a network, fold its affine runs, check, save.

``IN`` is either a network file written by ``an.nn.save_network`` (safetensors or ``.npz``) or
a seed-style network in the ``autonn.simple`` text format whose layers name their activations
(``layer K in I out O act NAME``, as ``Network.save`` writes for the activations of
``autonn.simple.ACTIVATIONS``). ``OUT`` is written in the same format as ``IN``. A file that
cannot be read (missing, not a regular file, corrupted, foreign) prints one line and exits with
status 2.

>>> import autonn as an, tempfile, os, argparse
>>> from autonn.compress_cli import run
>>> d = tempfile.mkdtemp()
>>> net = an.nn.Sequential(an.nn.Linear(4, 3), an.nn.Linear(3, 2))
>>> an.nn.save_network(net, os.path.join(d, "a.safetensors"))
>>> run(argparse.Namespace(input=os.path.join(d, "a.safetensors"),
...                        output=os.path.join(d, "b.safetensors")))  # doctest: +ELLIPSIS
before: 2 layers, 23 parameters
after:  1 layers, 10 parameters
...
0
"""
import sys

import numpy as np

import autonn as an


def _leaf_layers(model):
    return [m for m in model.modules() if not list(m.children())]


def _count(model):
    return len(_leaf_layers(model)), sum(p.size for p in model.parameters())


def _first_in_features(model):
    for m in model.modules():
        if isinstance(m, an.nn.Linear):
            return m.in_features
    return None


def _load(path):
    """``(model, save)``: the network as an an.nn module, and how to write a module back in the
    input's format."""
    from . import simple
    from ._bounded import open_regular
    with open_regular(path, "autonn compress") as f:
        head = f.read(len(simple.MAGIC) + 3)
    if simple._is_text_format(head):
        model = simple.load_named(path).to_module()
        return model, lambda module, out: simple.Network.from_module(module).save(out)
    return an.nn.load_network(path), an.nn.save_network


def run(args):
    """Entry point of ``autonn compress``; returns the exit status."""
    try:
        model, save = _load(args.input)
    except (ValueError, RuntimeError, OSError) as e:
        if isinstance(e, OSError) and e.strerror:
            message = f"cannot read {e.filename if e.filename else args.input}: {e.strerror}"
        else:
            message = str(e).removeprefix("autonn compress: ")
        print(f"autonn compress: error: {message}", file=sys.stderr)
        return 2
    model.eval()
    small = an.nn.compress(model)
    small.eval()
    n_in = _first_in_features(model)
    layers_before, params_before = _count(model)
    layers_after, params_after = _count(small)
    print(f"before: {layers_before} layers, {params_before} parameters")
    print(f"after:  {layers_after} layers, {params_after} parameters")
    if n_in is not None:
        dtype = next(iter(model.parameters())).dtype
        x = an.tensor(np.random.default_rng(0).standard_normal((64, n_in)).astype(dtype))
        with an.no_grad():
            a, b = model(x).data, small(x).data
        tol = 1e-4 if dtype == np.float32 else 1e-9
        err = float(np.max(np.abs(a - b) / (1 + np.abs(a)))) if a.size else 0.0
        if err > tol:
            print(f"error: the compressed network's predictions differ (max relative error {err:.3g})")
            return 1
        print(f"predictions agree on 64 random inputs (max relative error {err:.2g})")
    try:
        save(small, args.output)
    except OSError as e:
        print(f"autonn compress: error: cannot write {args.output}: {e.strerror or e}",
              file=sys.stderr)
        return 2
    print(f"saved to {args.output}")
    return 0
