"""The embedded default: a procedurally generated visible-infrared person world.

See ``infrared.py`` for the infrared model (the heart of the world),
``people.py`` for identities, ``cameras.py`` for the six SYSU-like cameras and
``world.py`` for rendering, pairing and caching. Notebook 01 walks through it.
"""
from .world import SyntheticData, SyntheticWorld, WorldSpec, load_synthetic

__all__ = ["SyntheticData", "SyntheticWorld", "WorldSpec", "load_synthetic"]
