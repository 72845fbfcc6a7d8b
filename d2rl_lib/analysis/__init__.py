"""Measurements beyond a method's own score (notebooks 01-07): the modality gap in each space
(:mod:`.gap`), what a trained T_I does (:mod:`.probes`), and what the synthetic world lets a
translator reach (:mod:`.ceilings`). The method's core never imports this package."""
