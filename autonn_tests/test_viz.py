"""an.viz.draw_graph: the DOT text names autonn's ops, shapes, dtypes and gradients; rendering
needs graphviz + dot and says what to install without them."""
import pathlib
import re
import shutil
import sys

import numpy as np
import pytest

import autonn as an
from autonn import viz
from autonn_tests._helpers import Cube


def _nodes_and_edges(dot):
    nodes = dict(re.findall(r'^\s*(\w+) \[.*?label="((?:[^"\\]|\\.)*)"', dot, flags=re.MULTILINE))
    edges = re.findall(r"^\s*(\w+) -> (\w+);", dot, flags=re.MULTILINE)
    return nodes, edges


def _ops_in_order(nodes, edges, start):
    """Op labels from the output back to the first op, following the first input each time."""
    into = {}
    for a, b in edges:
        into.setdefault(b, []).append(a)
    found, node = [], start
    while node in into:
        op = into[node][0]
        found.append(nodes[op])
        node = into.get(op, [None])[0]
    return found


def test_a_layer_shows_ops_shapes_and_dtypes():
    x = an.tensor([[1.0, 2.0]], dtype=np.float32)
    W = an.ones((2, 3), dtype=np.float32, requires_grad=True)
    b = an.zeros(3, dtype=np.float32, requires_grad=True)
    y = an.tanh(x @ W + b).sum()
    dot = an.viz.draw_graph(y, names={"x": x, "W": W, "b": b})
    assert dot.startswith("digraph autonn {") and dot.rstrip().endswith("}")
    nodes, edges = _nodes_and_edges(dot)
    out = next(n for n, label in nodes.items() if label.startswith("output"))
    assert _ops_in_order(nodes, edges, out) == ["sum", "tanh", "add", "matmul"]
    labels = list(nodes.values())
    assert any(l.startswith("W\\n(2, 3) float32") for l in labels)
    assert any(l.startswith("b\\n(3,) float32") for l in labels)
    assert any(l.startswith("x\\n(1, 2) float32") for l in labels)
    assert sum(l.startswith("(1, 3) float32") for l in labels) == 3   # x@W, +b, tanh
    assert not any("grad" in l for l in labels)                        # no backward yet
    # 4 ops: 4 op->tensor edges and 6 input edges (matmul 2, add 2, tanh 1, sum 1)
    assert len(edges) == 4 + 6


def test_gradients_appear_after_backward():
    w = an.tensor([1.0, -2.0], requires_grad=True)
    x = an.tensor([3.0, 4.0])
    loss = (w * x).sum()
    before = an.viz.draw_graph(loss, names={"w": w, "x": x})
    loss.backward(retain_graph=True)
    after = an.viz.draw_graph(loss, names={"w": w, "x": x})
    assert "grad" not in before
    w_label = next(l for l in _nodes_and_edges(after)[0].values() if l.startswith("w\\n"))
    assert w_label.endswith("grad [3., 4.]")           # d(w.x)/dw = x
    assert "mul" in after and "sum" in after


def test_a_freed_graph_says_so():
    w = an.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    dot = an.viz.draw_graph(loss)
    assert "sum\\n(freed by backward)" in dot and "style=dashed" in dot


def test_op_names_are_autonns_function_names():
    x = an.ones((2, 2), requires_grad=True)
    assert viz.op_label((x * 2.0).grad_fn) == "mul (x * 2.0)"
    assert viz.op_label((1.0 - x).grad_fn) == "sub (1.0 - x)"
    assert viz.op_label(an.logsumexp(x).grad_fn) == "logsumexp"
    assert viz.op_label(x[0].grad_fn) == "getitem"
    assert viz.op_label(an.log_softmax(x, axis=1).grad_fn) == "log_softmax"
    assert viz.op_label(an.leaky_relu(x).grad_fn) == "leaky_relu"
    net = an.nn.Sequential(an.nn.Linear(2, 3), an.nn.ReLU(), an.nn.Linear(3, 1))
    out = net(x)                       # Sequential fuses each Linear with its activation
    assert viz.op_label(out.grad_fn) == "linear"
    assert viz.op_label(out._parents[0].grad_fn) == "linear + relu"

    assert viz.op_label(Cube.apply(x).grad_fn) == "Cube"


def test_a_shared_input_is_one_node():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    y = x * x + x
    nodes, edges = _nodes_and_edges(an.viz.draw_graph(y, names={"x": x}))
    x_nodes = [n for n, l in nodes.items() if l.startswith("x\\n")]
    assert len(x_nodes) == 1
    assert sum(a == x_nodes[0] for a, _ in edges) == 3    # into mul twice, into add once


def test_bad_arguments():
    with pytest.raises(TypeError, match="draw_graph: expected a Tensor, got ndarray"):
        an.viz.draw_graph(np.ones(2))
    with pytest.raises(TypeError, match=r"draw_graph: names\['w'\] is a list"):
        an.viz.draw_graph(an.ones(2), names={"w": [1.0]})


needs_graphviz = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


@needs_graphviz
def test_renders_svg_and_png(tmp_path):
    pytest.importorskip("graphviz")
    W = an.ones((2, 2), requires_grad=True)
    y = an.tanh(an.ones((1, 2)) @ W).sum()
    svg = an.viz.draw_graph(y, path=tmp_path / "g.svg")
    text = pathlib.Path(svg).read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert ">matmul<" in text and ">tanh<" in text and ">sum<" in text
    png = an.viz.draw_graph(y, path=str(tmp_path / "g.png"), format="png")
    assert pathlib.Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="draw_graph: .*nosuchformat"):
        an.viz.draw_graph(y, path=tmp_path / "g.x", format="nosuchformat")


@needs_graphviz
def test_the_format_follows_the_paths_extension(tmp_path):
    pytest.importorskip("graphviz")
    y = (an.ones(2, requires_grad=True) * 2).sum()
    png = an.viz.draw_graph(y, path=tmp_path / "g.png")                     # no format given
    assert pathlib.Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bare = an.viz.draw_graph(y, path=tmp_path / "graph")                    # no extension: SVG
    assert "<svg" in pathlib.Path(bare).read_text(encoding="utf-8")
    with pytest.raises(ValueError, match=r"format='svg' but the path .* ends in \.png"):
        an.viz.draw_graph(y, path=tmp_path / "h.png", format="svg")
    assert not (tmp_path / "h.png").exists()


def test_without_the_graphviz_package_the_error_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "graphviz", None)   # import graphviz -> ImportError
    y = (an.ones(2, requires_grad=True) * 2).sum()
    with pytest.raises(ImportError, match=r"pip install 'autonn\[viz\]'.*apt-get install graphviz"):
        an.viz.draw_graph(y, path=tmp_path / "g.svg")
    assert an.viz.draw_graph(y).startswith("digraph")    # the DOT text needs nothing


def test_without_dot_the_error_says_what_to_install(monkeypatch, tmp_path):
    pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))             # no dot on PATH
    y = (an.ones(2, requires_grad=True) * 2).sum()
    with pytest.raises(RuntimeError, match="dot program was not found.*install Graphviz"):
        an.viz.draw_graph(y, path=tmp_path / "g.svg")
    assert not (tmp_path / "g.svg").exists()
