"""The embedded default: a procedurally generated visible-infrared person world.

``people.py`` makes the identities (garments, dyes, materials, each garment's hidden
offset), ``cameras.py`` the six SYSU-like cameras, ``visible.py`` renders the visible
images, ``nearinfrared.py`` the default infrared camera (near-infrared with an illuminator,
as SYSU-MM01), ``thermal.py`` the thermal one (``data.ir_model=thermal``, as RegDB), and
``world.py`` renders, pairs and caches the world. Notebook 01 walks through it; docs/world.md
says how each camera renders.
"""
from .world import SyntheticData, SyntheticWorld, WorldSpec, load_synthetic

__all__ = ["SyntheticData", "SyntheticWorld", "WorldSpec", "load_synthetic"]
