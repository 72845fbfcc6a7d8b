"""Losses, one small function each: re-ID (reid.py) and image translation (translation.py)."""
