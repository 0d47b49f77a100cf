"""``python -m autonn`` is the ``autonn`` command."""
import sys

from .cli import main

sys.exit(main())
