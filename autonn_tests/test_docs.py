"""The Python blocks of the docs run as written (each file's blocks share one namespace)."""
import os
import re

import pytest

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")
FILES = sorted(f for f in os.listdir(DOCS) if f.endswith(".md")) if os.path.isdir(DOCS) else []


@pytest.mark.parametrize("name", FILES)
def test_doc_code_blocks_run(name):
    text = open(os.path.join(DOCS, name), encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    namespace = {"__name__": f"docs_{name}"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"{name}[block {i}]", "exec"), namespace)
        except Exception as e:  # the block and its error, for the reader
            pytest.fail(f"{name} block {i} failed: {type(e).__name__}: {e}\n{block}")
