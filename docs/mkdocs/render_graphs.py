"""Render the tutorial's pictures of the graph: runs docs/tutorial.md's code and writes each
graph it draws (``neuron_before``, ``neuron_after``, ``net_before``, ``net_after``) to
docs/images/NAME.dot and NAME.svg. Needs the viz extra and Graphviz's dot.

    python docs/mkdocs/render_graphs.py
"""
import os
import pathlib
import re

DOCS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PICTURES = ("neuron_before", "neuron_after", "net_before", "net_after")


def tutorial_graphs():
    """The DOT text of each picture, from running the tutorial's code blocks in order."""
    text = pathlib.Path(os.path.join(DOCS, "tutorial.md")).read_text(encoding="utf-8")
    namespace = {"__name__": "tutorial"}
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL):
        exec(compile(block, "tutorial.md", "exec"), namespace)
    return {name: namespace[name] for name in PICTURES}


def main():
    from autonn.viz import render
    for name, dot in tutorial_graphs().items():
        base = os.path.join(DOCS, "images", name)
        with open(base + ".dot", "w", encoding="utf-8") as f:
            f.write(dot)
        render(dot, base + ".svg", "svg")
        print(f"wrote {base}.dot and {base}.svg")


if __name__ == "__main__":
    main()
