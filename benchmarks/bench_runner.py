"""How long building N parameterised reports takes: naive loop, Ploomber, and `analysis run`.

    python benchmarks/bench_runner.py [--n 6] [--repeat 3] [--keep DIR]

The workload is one small notebook (the repository's incident table via ``analysis.data.datasets``, a
statsmodels Poisson GLM, a seaborn plot) run for N values of a parameter, each to an executed
notebook and an HTML page without code. It is timed, median of ``--repeat`` runs, as:

(a) naive: a sequential loop of ``papermill`` then ``jupyter nbconvert --to html --no-input``;
(b) Ploomber: ``ploomber build`` of a pipeline.yaml with a grid and the parallel executor.
    Ploomber is not a dependency of this project: it is pip-installed into a throwaway venv under
    /tmp that sees this interpreter's packages (so both use the same pandas, papermill, nbconvert);
    if that install fails, (b) is skipped with the reason;
(c) ``analysis run`` from cold (empty reports folder);
(d) ``analysis run`` again with nothing changed (the no-op).

Every timed command runs as a separate process, as a user would run it. The figures it fits are
a timing workload only, never a study result.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
PLOOMBER_VENV = Path(tempfile.gettempdir()) / "bench-ploomber-venv"
FIRST_YEAR = 2008

WORKLOAD = """import matplotlib.pyplot as plt
import seaborn as sns
import statsmodels.api as sm
import statsmodels.formula.api as smf

from analysis.data import datasets

incidents = datasets.load("incidents")
sample = incidents[(incidents.dyad == "KGZ-TJK") & incidents.fatalities.notna()].copy()
sample["year"] = sample.date_start.str[:4].astype(int)
sample = sample[sample.year >= start_year].astype({"fatalities": float})
fit = smf.glm("fatalities ~ year", data=sample, family=sm.families.Poisson()).fit()
print(fit.summary())
ax = sns.regplot(data=sample, x="year", y="fatalities")
ax.set_title(f"stated fatalities per incident from {start_year} (benchmark workload)")
if output_dir:
    plt.savefig(f"{output_dir}/fit.png")
"""


def notebook(parameters: str) -> dict:
    def cell(kind: str, source: str, index: int, tags=()) -> dict:
        cell = {
            "cell_type": kind,
            "id": f"c{index}",
            "metadata": {"tags": list(tags)},
            "source": source,
        }
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        return cell

    return {
        "cells": [
            cell("markdown", "# Benchmark workload (not a study result)", 0),
            cell("code", parameters, 1, ["parameters"]),
            cell("code", WORKLOAD, 2),
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write_workload(folder: Path, n: int) -> list[int]:
    """The notebook (plus Ploomber's variant, which must declare upstream and product) and plans."""
    folder.mkdir(parents=True, exist_ok=True)
    declared = (
        f"start_year: int = {FIRST_YEAR}  # first year of the sample (range: {FIRST_YEAR}..2024)\n"
        'output_dir: str = ""  # folder for figures ("" = do not save)\n'
    )
    (folder / "bench.ipynb").write_text(json.dumps(notebook(declared)))
    (folder / "bench_ploomber.ipynb").write_text(
        json.dumps(notebook(declared + "upstream = None\nproduct = None\n"))
    )
    years = [FIRST_YEAR + i for i in range(n)]
    (folder / "reports.toml").write_text(
        f'[[report]]\nname = "bench-{{start_year}}"\nnotebook = "bench.ipynb"\n'
        f'grid = {{ start_year = {years} }}\ninputs = ["incidents"]\n'
    )
    (folder / "pipeline.yaml").write_text(
        "executor: parallel\n"
        "tasks:\n"
        "  - source: bench_ploomber.ipynb\n"
        "    name: bench-[[start_year]]\n"
        "    product: ploomber_out/bench-[[start_year]].html\n"
        "    nbconvert_export_kwargs:\n"
        "      exclude_input: true\n"
        "    grid:\n"
        f"      start_year: {years}\n"
    )
    return years


def timed(command: list[str], cwd: Path, env: dict | None = None) -> float:
    """Seconds ``command`` takes in ``cwd``. The workload runs in a scratch folder outside the
    project, so every command is told where the project (and its data) is."""
    env = {**(env or os.environ), "ANALYSIS_ROOT": str(ROOT)}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )
    return seconds


def naive(folder: Path, years: list[int]) -> float:
    out = folder / "naive_out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    seconds = 0.0
    for year in years:
        executed = out / f"bench-{year}.ipynb"
        seconds += timed(
            [
                str(BIN / "papermill"),
                "--no-progress-bar",
                "bench.ipynb",
                str(executed),
                "-p",
                "start_year",
                str(year),
            ],
            folder,
        )
        seconds += timed(
            [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed)], folder
        )
    assert len(list(out.glob("*.html"))) == len(years)
    return seconds


def ploomber_env() -> tuple[dict | None, str]:
    """A venv with ploomber that also sees this interpreter's packages, or None and why not."""
    python = PLOOMBER_VENV / "bin" / "python"
    if not (PLOOMBER_VENV / "bin" / "ploomber").is_file():
        shutil.rmtree(PLOOMBER_VENV, ignore_errors=True)
        venv.EnvBuilder(with_pip=True).create(PLOOMBER_VENV)
        site = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        ours = subprocess.run(
            [sys.executable, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        # Processes this interpreter's .pth files too, so the editable `analysis` is importable.
        Path(site, "zz_bench_shared.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
        install = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "ploomber"],
            capture_output=True,
            text=True,
            check=False,
        )
        if install.returncode != 0:
            return None, f"pip install ploomber failed: {install.stderr.strip().splitlines()[-1:]}"
    # JUPYTER_PATH: nbconvert's templates and the kernelspec live under this interpreter's prefix.
    env = {
        **os.environ,
        "PATH": f"{PLOOMBER_VENV / 'bin'}:{os.environ['PATH']}",
        "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter"),
        "PLOOMBER_STATS_ENABLED": "false",
        "PLOOMBER_VERSION_CHECK_DISABLED": "true",
    }
    return env, ""


def ploomber(folder: Path, years: list[int], env: dict) -> float:
    shutil.rmtree(folder / "ploomber_out", ignore_errors=True)
    shutil.rmtree(folder / ".ploomber", ignore_errors=True)
    seconds = timed(
        [
            str(PLOOMBER_VENV / "bin" / "ploomber"),
            "build",
            "--entry-point",
            "pipeline.yaml",
            "--force",
        ],
        folder,
        env,
    )
    assert len(list((folder / "ploomber_out").glob("*.html"))) == len(years)
    return seconds


def ours(folder: Path, years: list[int], cold: bool) -> float:
    if cold:
        shutil.rmtree(folder / "reports", ignore_errors=True)
    seconds = timed([str(BIN / "analysis"), "run", "--plan", "reports.toml"], folder)
    assert len(list((folder / "reports").glob("bench-*/bench-*.html"))) == len(years)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6, help="reports per method (default 6)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per method; the median is reported (default 3)"
    )
    parser.add_argument(
        "--keep", type=Path, help="work in this folder and keep it (default: a temporary one)"
    )
    parser.add_argument(
        "--no-ploomber", action="store_true", help="skip (b), which pip-installs Ploomber"
    )
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-runner-"))
    years = write_workload(folder, args.n)
    print(
        f"{args.n} reports, median of {args.repeat}, {os.cpu_count()} CPUs, work folder {folder}",
        flush=True,
    )
    env, why_not = (None, "--no-ploomber") if args.no_ploomber else ploomber_env()
    methods = [("naive: papermill + nbconvert, sequential", lambda: naive(folder, years))]
    if env is not None:
        methods.append(("ploomber build, parallel executor", lambda: ploomber(folder, years, env)))
    methods += [
        ("analysis run, cold", lambda: ours(folder, years, cold=True)),
        ("analysis run, nothing changed", lambda: ours(folder, years, cold=False)),
    ]
    medians = {}
    for name, method in methods:
        runs = [method() for _ in range(args.repeat)]
        medians[name] = statistics.median(runs)
        print(
            f"{name:<42} {medians[name]:7.2f} s   runs: {', '.join(f'{r:.2f}' for r in runs)}",
            flush=True,
        )
    if env is None:
        print(f"ploomber skipped: {why_not}")
    cold, noop = medians["analysis run, cold"], medians["analysis run, nothing changed"]
    print(f"ours/naive    {cold / medians['naive: papermill + nbconvert, sequential']:.2f}")
    if env is not None:
        print(
            f"ours/ploomber {cold / medians['ploomber build, parallel executor']:.2f}   (target ≤ 0.8)"
        )
    print(f"no-op         {noop:.2f} s   (target < 1 s)")
    if args.keep is None:
        shutil.rmtree(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
