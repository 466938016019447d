"""The results stage of a run: every registered test in the store before the reports that show it.

A report that declares ``results`` in the plan keys on a digest of the stored results it shows
(``store.digests``: each test's content key with its adjusted p-values and verdict). Those
digests follow from the registry, the data tables, the code and the reports' test settings, so
they are memoised under the hashes of those: a run in which none changed answers without
importing the scientific stack; otherwise the stage computes the missing tests on the run's
executor (once per combination of test settings the reports use), and the digests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TextIO

from .. import executors
from .cache import Environment, Memo, settings_group
from .plan import Report


def _groups(reports: Sequence[Report]) -> dict[str, Report]:
    """One report per settings group among the reports that show stored results."""
    return {settings_group(r): r for r in reports if r.results}


def _key(env: Environment, tables: dict[str, str], groups: dict[str, Report]) -> list:
    """What the digests follow from: the code, the registry, the data tables, the settings."""
    return [env.source_sha256, env.registry_sha256, sorted(tables.items()), sorted(groups)]


def known(
    memo: Memo, env: Environment, tables: dict[str, str], reports: Sequence[Report]
) -> dict[str, dict[str, str]] | None:
    """The digests per settings group if the stage has run on exactly these inputs, else None."""
    groups = _groups(reports)
    return memo.peek("results", _key(env, tables, groups)) if groups else {}


def compute(
    memo: Memo,
    env: Environment,
    tables: dict[str, str],
    reports: Sequence[Report],
    *,
    executor: str,
    jobs: int | None,
    scheduler: str | None,
    out: TextIO,
) -> dict[str, dict[str, str]]:
    """Compute (or find) every registered test in the store for each settings group, on the
    run's executor, and memoise the digests of what each report shows."""
    from ..study import store
    from ..study.config import settings_from
    from ..study.registry import load_registry

    groups = _groups(reports)
    started = time.monotonic()
    print("results stage: every registered test, from the store or computed", file=out, flush=True)
    value = {}
    registry = load_registry()
    with executors.open(executor, jobs=jobs, scheduler=scheduler) as pool:
        for group, report in groups.items():
            results = store.registry_results(
                registry,
                settings=settings_from(report.parameters),
                executor=pool,
                store=store.ResultStore.default(),
            )
            value[group] = store.digests(results)
            settings = ", ".join(f"{k}={v}" for k, v in json.loads(group).items()) or "defaults"
            print(
                f"results stage: {len(results.results)} tests, {len(results.failures)} not "
                f"testable ({settings}), {time.monotonic() - started:.1f} s",
                file=out,
                flush=True,
            )
    memo.put("results", _key(env, tables, groups), value)
    return value
