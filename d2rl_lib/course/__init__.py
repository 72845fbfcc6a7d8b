"""The course around the method: what the notebooks call (:mod:`.notebook`: setup, the run
cache, widgets), their figures (:mod:`.viz`), the published numbers and the decisions table
(:mod:`.paper`), and ``make demo`` (:mod:`.demo`). The method's core never imports this package."""
