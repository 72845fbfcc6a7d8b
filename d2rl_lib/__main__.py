"""``python -m d2rl_lib``: the same as the ``d2rl`` console script."""
import sys

from .cli import main

sys.exit(main())
