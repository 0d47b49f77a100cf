"""The documentation site builds with `mkdocs build --strict`, its API reference covers every
public name, the tutorial's pictures are the graphs its code draws, and nothing in the docs
points outside the repository."""
import functools
import importlib
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
CONFIG = os.path.join(DOCS, "mkdocs", "mkdocs.yml")
sys.path.insert(0, os.path.join(DOCS, "mkdocs"))
import render_graphs  # noqa: E402 (from docs/mkdocs)
from rst_to_markdown import rst_to_markdown  # noqa: E402

sys.path.pop(0)


def _markdown_files():
    for folder, _, files in os.walk(DOCS):
        for name in files:
            if name.endswith(".md"):
                yield os.path.join(folder, name)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               NO_MKDOCS_2_WARNING="1")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", CONFIG,
                             "-d", str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _ids(site, page):
    html = pathlib.Path(os.path.join(site, "api", page, "index.html")).read_text(encoding="utf-8")
    return set(re.findall(r'id="([\w.]+)"', html))


# page of the API reference -> the modules whose __all__ it documents
PAGES = {"autonn": ["autonn"], "func": ["autonn.func"], "fft": ["autonn.fft"], "linalg": ["autonn.linalg"],
         "gradcheck": ["autonn.checking"],
         "nn": ["autonn.nn"], "functional": ["autonn.nn.functional"], "init": ["autonn.nn.init"],
         "optim": ["autonn.optim", "autonn.optim.lr_scheduler"],
         "data": ["autonn.data", "autonn.datasets"], "files": ["autonn.io"],
         "testing": ["autonn.testing.strategies"], "viz": ["autonn.viz"],
         "simple": ["autonn.simple"], "special": ["autonn.special"],
         "stats": [f"autonn.stats.{d}" for d in ("norm", "t", "beta", "gamma", "chi2", "poisson",
                                                 "dirichlet", "multivariate_normal")]}


def _public(module_name):
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items() if not n.startswith("_")
                 and getattr(v, "__module__", None) == module_name and callable(v)]
    return [n for n in names if not isinstance(getattr(module, n), type(np))]  # (modules: own pages)


def test_the_site_builds_and_documents_every_public_name(site):
    import autonn as an
    missing = []
    for page, modules in PAGES.items():
        ids = _ids(site, page)
        for module in modules:
            for name in _public(module):
                if module == "autonn" and name in an._LAZY_NAMES:
                    continue   # gradcheck & co., save & load: documented on their own pages
                # (a function named as its own submodule, an.tensor or an.nn.compress, is
                # documented from the submodule)
                obj = getattr(importlib.import_module(module), name)
                if not getattr(obj, "__module__", "autonn").startswith("autonn"):
                    # another library's function, re-exported: named on the page
                    html = pathlib.Path(site, "api", page, "index.html").read_text(encoding="utf-8")
                    if f"{module}.{name}" not in html:
                        missing.append(f"{module}.{name}")
                    continue
                if f"{module}.{name}" not in ids and f"{module}.{name}.{name}" not in ids:
                    missing.append(f"{module}.{name}")
    assert "autonn.testing.assertions.assert_gradients_close" in _ids(site, "testing")
    # (autonn.distributed needs mpi4py to import, the reference reads it without importing)
    assert {"autonn.distributed.init_process_group", "autonn.distributed.all_reduce",
            "autonn.distributed.DistributedDataParallel"} <= _ids(site, "distributed")
    assert missing == [], missing


def _nav_pages(entries):
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(value, list):
            yield from _nav_pages(value)
        else:
            yield value


def test_every_page_is_in_the_navigation_and_the_site(site):
    import yaml
    config = yaml.load(pathlib.Path(CONFIG).read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    nav = set(_nav_pages(config["nav"]))
    pages = {os.path.relpath(p, DOCS).replace(os.sep, "/") for p in _markdown_files()}
    pages = {p for p in pages if not p.startswith("mkdocs/")}
    assert pages == nav
    for page in pages:
        html = page[:-len("index.md")] if page.endswith("index.md") else page[:-3] + "/"
        assert os.path.exists(os.path.join(site, html, "index.html")), page
    assert os.path.exists(os.path.join(site, "images", "net_after.svg"))


def test_nothing_points_outside_the_repository():
    for path in _markdown_files():
        text = pathlib.Path(path).read_text(encoding="utf-8")
        name = os.path.relpath(path, ROOT)
        assert "shared/" not in text and "API.md" not in text, name
        assert "/work/" not in text, name
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://", "#")):
                continue
            resolved = os.path.normpath(os.path.join(os.path.dirname(path), target.split("#")[0]))
            assert resolved.startswith(DOCS + os.sep) and os.path.exists(resolved), (name, target)


def _split_numbers(dot):
    numbers = [float(x) for x in re.findall(r"-?\d+\.\d*(?:e[-+]?\d+)?|-?\d+(?:e[-+]?\d+)?", dot)]
    return re.sub(r"-?\d+\.\d*(?:e[-+]?\d+)?|-?\d+(?:e[-+]?\d+)?", "#", dot), numbers


@functools.lru_cache(maxsize=1)
def _tutorial_graphs():
    return render_graphs.tutorial_graphs()


@pytest.mark.parametrize("name", render_graphs.PICTURES)
def test_the_tutorials_pictures_are_the_graphs_its_code_draws(name):
    _graphs = _tutorial_graphs()
    committed = pathlib.Path(os.path.join(DOCS, "images", name + ".dot")).read_text(encoding="utf-8")
    text, numbers = _split_numbers(_graphs[name])
    text0, numbers0 = _split_numbers(committed)
    assert text == text0, f"run python docs/mkdocs/render_graphs.py to redraw {name}"
    np.testing.assert_allclose(numbers, numbers0, rtol=2e-3, atol=1e-4)   # 4 digits printed
    svg = pathlib.Path(os.path.join(DOCS, "images", name + ".svg")).read_text(encoding="utf-8")
    assert "<svg" in svg
    for op in re.findall(r'_op \[shape=ellipse, label="([^"\\]+)', committed):
        assert f">{op.replace('*', '*')}<" in svg.replace("&#45;", "-").replace("&gt;", ">"), op
    if name.endswith("_after"):
        assert "grad " in committed


def test_rst_habits_become_markdown():
    text = ("Intro :func:`autonn.exp`::\n\n    literal\n    block\n\nafter\n\n"
            ">>> 1 + 1\n2\n\n=== ===\na   b\n=== ===\n1   2\n=== ===\nend")
    assert rst_to_markdown(text).splitlines() == [
        "Intro `autonn.exp`:", "", "```text", "literal", "block", "```", "",
        "after", "", "```pycon", ">>> 1 + 1", "2", "```", "",
        "```text", "=== ===", "a   b", "=== ===", "1   2", "=== ===", "```", "end"]


def test_the_numpy_page_lists_every_op():
    import autonn as an
    text = pathlib.Path(os.path.join(DOCS, "numpy.md")).read_text(encoding="utf-8")
    table = text[text.index("## What is differentiable today"):text.index("This table lists")]
    listed = set(re.findall(r"\w+", " ".join(re.findall(r"`([^`]+)`", table))))
    assert set(an.ops.__all__) - listed == set()


def test_the_numpy_page_shows_the_registry_table(site):
    """The generated table lists every function the registry tests, under its public name."""
    from autonn.testing.support import supported_functions
    html = pathlib.Path(os.path.join(site, "numpy", "index.html")).read_text(encoding="utf-8")
    assert "supported functions: generated" not in html
    missing = [name for name in supported_functions() if f"<code>{name}</code>" not in html]
    assert not missing, f"functions missing from the generated table: {missing}"


def test_every_environment_variable_autonn_reads_is_documented():
    """docs/cli.md's table names each AUTONN_* variable the package reads."""
    read = set()
    for folder, _, files in os.walk(os.path.join(ROOT, "autonn")):
        for name in files:
            if name.endswith(".py"):
                text = pathlib.Path(folder, name).read_text(encoding="utf-8")
                read |= set(re.findall(r"""["'](AUTONN_[A-Z_]+)["']""", text))   # the names it spells
    assert len(read) >= 5  # the walk sees them (AUTONN_KERNELS, AUTONN_POOL_BYTES, ...)
    table = pathlib.Path(DOCS, "cli.md").read_text(encoding="utf-8").split("## Environment variables")[1]
    assert sorted(v for v in read if f"`{v}" not in table) == []


def test_ops_made_by_a_call_are_documented_as_functions(site):
    """``cos = elementwise("cos", ...)`` and ``multiply = mul`` read as functions with their
    signature and docstring, not as module attributes showing the source of the call."""
    for page, name, text in [("autonn", "autonn.cos", "Elementwise cosine."),
                             ("autonn", "autonn.multiply", "Elementwise"),
                             ("special", "autonn.special.erf", "error function")]:
        html = pathlib.Path(site, "api", page, "index.html").read_text(encoding="utf-8")
        start = html.index(f'id="{name}"')
        entry = html[start:html.index('class="doc doc-heading"', start + 40)]
        assert "doc-function-name" in entry and "module-attribute" not in entry, name
        assert text in entry and "elementwise(" not in entry, name
        assert "```" not in entry, name          # the doctest is a code block, not fence text
