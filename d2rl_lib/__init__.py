"""d2rl_lib: the library behind the D2RL educational reproduction.

D2RL is "Learning to Reduce Dual-level Discrepancy for Infrared-Visible Person
Re-identification" (Wang et al., CVPR 2019). The notebooks in ``notebooks/``
teach it one stage at a time; this package carries the real code they import.
"""

__version__ = "0.1.0"

from .config import PRESETS, Config, ConfigError, get_config  # noqa: E402
from .errors import DivergenceError, UserError  # noqa: E402

__all__ = ["__version__", "Config", "ConfigError", "PRESETS", "get_config", "UserError",
           "DivergenceError"]
