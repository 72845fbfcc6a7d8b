"""Evaluation: what a trained network, or a translation, is measured by (notebooks 01, 03, 05).

- :mod:`.retrieval`: features of a test set, the protocols' scores (SYSU-MM01's all/indoor
  search over trials, RegDB's folds, the synthetic world's), chance level, ``metrics.json``;
- :mod:`.metrics`: CMC, mAP and mINP, one query at a time as the community's ``eval_sysu`` /
  ``eval_regdb`` compute them; :mod:`.metrics_fast`: the same numbers, vectorised;
- :mod:`.fidelity`: a V→IR translation against the synthetic world's hidden twins;
- :mod:`.trained`: a saved run loaded back (``weights_only=True``) for evaluation and analysis;
- :mod:`.curve`: learning curves of a run's kept checkpoints on the validation identities.

It sits below the trainers (``training.run`` scores with :func:`.retrieval.run_summary`) and
never imports them (``tests/test_imports.py``).
"""
