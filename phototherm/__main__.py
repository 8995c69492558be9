"""``python -m phototherm``: the same as the ``phototherm`` command."""

import sys

from .cli import main

sys.exit(main())
