"""The batch engine behind `analysis run`: notebooks in, published reports out.

Modules, one concern each: ``parameters`` (a notebook's parameters cell), ``plan`` (reports.toml),
``cache`` (content keys and staleness), ``kernel`` (cells run in-process), ``build`` (one report in
a worker), ``pool`` (forked workers), ``cluster`` (the same reports as tasks on a dask cluster),
``publish`` (staging and atomic swap), ``index`` (reports/index.html), ``lock`` and ``signals``
(one run at a time, clean interruption), ``batch`` (the run itself).
"""

from .orchestrate import RunOptions, run
from .plan import Plan, Report, load_plan

__all__ = ["Plan", "Report", "RunOptions", "load_plan", "run"]
