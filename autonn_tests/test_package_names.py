"""autonn.__all__ lists the public names, and dir(autonn) offers the lazily loaded ones."""
import os
import subprocess
import sys

import autonn as an

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))


def test_every_name_in_all_resolves():
    missing = [n for n in an.__all__ if not hasattr(an, n)]
    assert missing == []
    assert len(set(an.__all__)) == len(an.__all__)


def test_dir_lists_the_lazy_names():
    names = dir(an)
    for lazy in ("nn", "optim", "data", "testing", "viz", "gradcheck", "gradgradcheck",
                 "gradcheck_report", "GradcheckError", "save", "load", "from_dlpack"):
        assert lazy in names, lazy


def test_star_import_and_a_fast_plain_import():
    code = ("import sys; from autonn import *; assert callable(gradcheck) and nn.Linear;"
            "import autonn; print(sorted(m for m in ('autonn.viz', 'graphviz', 'hypothesis') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=ENV)
    assert out.stdout.strip() == "['autonn.viz']"       # star import: viz yes, no Hypothesis
    lazy = "import sys, autonn; print('autonn.viz' in sys.modules, 'autonn.nn' in sys.modules)"
    plain = subprocess.run([sys.executable, "-c", lazy],
                           capture_output=True, text=True, check=True, env=ENV)
    assert plain.stdout.split() == ["False", "False"]   # lazily loaded


def test_all_covers_the_lazy_names():
    assert set(an._LAZY_NAMES) <= set(an.__all__)
    assert set(an._LAZY_MODULES) - set(an.__all__) == {"testing"}
