"""The run plan, parameters cells, content keys, publishing and the index of `analysis run`.

Everything here runs without executing a notebook; test_runner_run.py executes tiny ones.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from conftest import ROOT
from runner_fixtures import write_notebook, write_plan

from analysis import provenance
from analysis.errors import AnalysisError, ConfigError
from analysis.runner import cache, cluster, index, publish, verify
from analysis.runner.lock import RunLock
from analysis.runner.parameters import parse_parameters, read_parameters
from analysis.runner.plan import load_plan

PARAMETERS = """output_dir: str = ""  # folder for figures/tables/numbers ("" = do not save)
n: int = 3  # how many (range: 1..10)
share: float = 0.5  # a share (range: 0..1)
kind: str = "counts"  # what to count (choices: counts, rates)
hypothesis: str = "H1a"  # which hypothesis (choices: registry)
verbose: bool = False  # talk more
"""
REGISTRY = ("H1a", "H1b", "H2a")


def registry() -> tuple[str, ...]:
    return REGISTRY


@pytest.fixture
def notebook(tmp_path):
    return write_notebook(tmp_path / "nb" / "report.ipynb", PARAMETERS, "print(n)")


# --- parameters cell ---------------------------------------------------------------------------


def test_parameters_cell_declares_types_defaults_help_and_constraints(notebook):
    declared = read_parameters(notebook)
    assert list(declared) == ["output_dir", "n", "share", "kind", "hypothesis", "verbose"]
    assert declared["n"].range == (1, 10) and declared["n"].default == 3
    assert declared["kind"].choices == ("counts", "rates")
    assert declared["hypothesis"].from_registry and declared["hypothesis"].choices is None
    assert declared["verbose"].type == "bool" and declared["verbose"].help == "talk more"


def test_papermill_help_notebook_still_documents_the_parameters(notebook):
    from papermill.inspection import inspect_notebook

    found = inspect_notebook(str(notebook))
    assert (
        found["n"]["inferred_type_name"] == "int"
        and found["n"]["help"] == "how many (range: 1..10)"
    )
    assert found["kind"]["help"] == "what to count (choices: counts, rates)"


@pytest.mark.parametrize(
    "source, message",
    [
        ('output_dir = ""', "line 1: expected `name: type = value"),
        ('output_dir: str = ""\nn: list = []', "line 2: expected `name: type = value"),
        (
            'output_dir: str = ""\nn: int = len("ab")',
            "line 2: the default of 'n' must be a plain literal",
        ),
        (
            'output_dir: str = ""\nn: int = 20  # (range: 1..10)',
            "default of 'n': 20 is outside the range 1..10",
        ),
        ('output_dir: str = ""\nn: int = 1  # (range: one..ten)', "cannot read the range of 'n'"),
        ('output_dir: str = ""\nn: int = 1\nn: int = 2', "'n' is declared twice"),
        ('output_dir: str = "\n', "not valid Python"),
    ],
)
def test_a_malformed_parameters_cell_is_a_config_error_with_its_line(source, message):
    with pytest.raises(ConfigError, match=None) as caught:
        parse_parameters(source, "nb.ipynb: parameters cell")
    assert message in str(caught.value) and str(caught.value).startswith(
        "nb.ipynb: parameters cell"
    )


def test_a_notebook_without_output_dir_or_parameters_cell_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="no `output_dir: str"):
        read_parameters(write_notebook(tmp_path / "a.ipynb", "n: int = 1"))
    path = write_notebook(tmp_path / "b.ipynb", "")
    document = json.loads(path.read_text())
    document["cells"][1]["metadata"]["tags"] = []
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigError, match="no code cell is tagged 'parameters'"):
        read_parameters(path)


# --- the plan ----------------------------------------------------------------------------------


def test_grid_expands_to_the_cross_product_and_registry_means_every_hypothesis(tmp_path, notebook):
    plan = load_plan(
        write_plan(
            tmp_path,
            """
[defaults]
timeout = 30
jobs = 3

[[report]]
name = "h-{hypothesis}-{n}"
notebook = "nb/report.ipynb"
parameters = { kind = "rates" }
grid = { hypothesis = "registry", n = [1, 2] }
inputs = ["incidents"]
""",
        ),
        registry,
    )
    assert plan.timeout == 30 and plan.jobs == 3
    assert [r.name for r in plan.reports] == [f"h-{h}-{n}" for h in REGISTRY for n in (1, 2)]
    first = plan.reports[0]
    assert first.parameters == {
        "n": 1,
        "share": 0.5,
        "kind": "rates",
        "hypothesis": "H1a",
        "verbose": False,
    }
    assert first.inputs == ("incidents",) and first.notebook == notebook.resolve()
    assert [r.name for r in plan.select(["h-H1b-*"])] == ["h-H1b-1", "h-H1b-2"]
    with pytest.raises(ConfigError, match="--only 'h-H1c-1' matches no report; did you mean 'h-H1"):
        plan.select(["h-H1c-1"])


def test_the_registry_is_consulted_only_when_a_notebook_needs_it(tmp_path):
    write_notebook(tmp_path / "plain.ipynb", 'output_dir: str = ""\nn: int = 1')

    def unavailable():
        raise AssertionError("registry loaded although no notebook declares (choices: registry)")

    plan = load_plan(
        write_plan(tmp_path, '[[report]]\nname = "p"\nnotebook = "plain.ipynb"\n'), unavailable
    )
    assert plan.reports[0].parameters == {"n": 1}


ENTRY = '[[report]]\nname = "{name}"\nnotebook = "nb/report.ipynb"\n'


@pytest.mark.parametrize(
    "body, message",
    [
        (
            "[default]\ntimeout = 3\n" + ENTRY.format(name="r"),
            "unknown key 'default'; did you mean 'defaults'?",
        ),
        (
            "[defaults]\ntimeout = -1\n" + ENTRY.format(name="r"),
            "[defaults] timeout must be a positive number",
        ),
        (
            ENTRY.format(name="r") + 'input = ["incidents"]\n',
            "unknown key 'input'; did you mean 'inputs'?",
        ),
        (
            '[[report]]\nname = "r"\nnotebook = "nb/missing.ipynb"\n',
            "report 'r': notebook 'nb/missing.ipynb' not found",
        ),
        (
            ENTRY.format(name="r") + 'parameters = { hypotesis = "H1a" }\n',
            (
                "report 'r': parameter 'hypotesis' is not declared in the notebook's parameters cell; "
                "did you mean 'hypothesis'?"
            ),
        ),
        (
            ENTRY.format(name="r") + 'parameters = { n = "3" }\n',
            "report 'r': parameter 'n': expected a int, found str '3'",
        ),
        (
            ENTRY.format(name="r") + "parameters = { n = true }\n",
            "parameter 'n': expected a int, found bool True",
        ),
        (
            ENTRY.format(name="r") + "parameters = { n = 11 }\n",
            "parameter 'n': 11 is outside the range 1..10",
        ),
        (
            ENTRY.format(name="r") + "parameters = { share = nan }\n",
            "parameter 'share': expected a finite float",
        ),
        (
            ENTRY.format(name="r") + 'parameters = { kind = "rate" }\n',
            "parameter 'kind': 'rate' is not in the choices (counts, rates); did you mean 'rates'?",
        ),
        (
            ENTRY.format(name="r") + 'parameters = { hypothesis = "H2b" }\n',
            (
                "parameter 'hypothesis': 'H2b' is not in the hypothesis registry (H1a, H1b, H2a); "
                "did you mean 'H2a'?"
            ),
        ),
        (
            ENTRY.format(name="r") + "parameters = { kind = 1979-05-27 }\n",
            "parameter 'kind': expected a str, found date",
        ),
        (
            ENTRY.format(name="r") + 'parameters = { output_dir = "x" }\n',
            "'output_dir' is set by the runner",
        ),
        (ENTRY.format(name="r-{n}") + "grid = { n = [] }\n", "report 'r-{n}': grid 'n' is empty"),
        (ENTRY.format(name="r-{n}") + "grid = { n = 2 }\n", "grid 'n' must be a list of values"),
        (ENTRY.format(name="r") + "grid = { n = [1, 2] }\n", "report name 'r' occurs twice"),
        (ENTRY.format(name="r") + ENTRY.format(name="r"), "report name 'r' occurs twice"),
        (
            ENTRY.format(name="r-{nn}") + "grid = { n = [1, 2] }\n",
            "placeholder '{nn}' is not a parameter of the notebook; did you mean 'n'?",
        ),
        (ENTRY.format(name="r-{n!r}"), "name placeholders must be plain parameter names"),
        (ENTRY.format(name="../r"), "report name '../r' cannot be a folder name"),
        (ENTRY.format(name="index.html"), "report name 'index.html' cannot be a folder name"),
        (
            ENTRY.format(name="r") + "parameters = { n = 2 }\ngrid = { n = [1] }\n",
            "'n' is set both in parameters and in grid",
        ),
        ('[[report]]\nnotebook = "nb/report.ipynb"\n', "'name' is required"),
        ("x = [", "not valid TOML"),
    ],
)
def test_plan_mistakes_are_config_errors_naming_plan_report_and_parameter(
    tmp_path, notebook, body, message
):
    plan = write_plan(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_plan(plan, registry)
    text = str(caught.value)
    assert text.startswith(str(plan)) and message in text, text


def test_a_missing_plan_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="run plan not found"):
        load_plan(tmp_path / "nowhere.toml", registry)


def test_the_repository_plan_is_well_formed():
    """reports.toml at the root: known keys only, notebooks in notebooks/ (written separately)."""
    import tomllib

    document = tomllib.loads((ROOT / "reports.toml").read_text())
    assert set(document) <= {"defaults", "report"}
    notebooks = {entry["notebook"] for entry in document["report"]}
    assert {"notebooks/00_data_audit.ipynb", "notebooks/10_hypothesis.ipynb"} <= notebooks


def test_registry_ids_come_from_the_real_registry_and_are_memoised(tmp_path):
    from analysis.study.registry import load_registry

    memo = cache.Memo(tmp_path / "memo.json")
    env = cache.environment(tmp_path, with_code=False)
    ids = cache.registry_ids(memo, env)()
    assert ids == list(load_registry())
    stored = json.loads((tmp_path / "memo.json").read_text())["registry_ids"]
    assert stored == {"key": [env.source_sha256, env.registry_sha256], "value": ids}


# --- content keys ------------------------------------------------------------------------------


@pytest.fixture
def keyed(tmp_path, notebook, monkeypatch):
    """A plan with one report reading 'incidents', a lock file, and a copy of src/analysis."""
    source = tmp_path / "src_copy"
    shutil.copytree(cache.SOURCE_DIR, source, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "SOURCE_DIR", source)
    (tmp_path / "requirements.lock").write_text("pandas==3.1.1\n")
    plan_path = write_plan(tmp_path, ENTRY.format(name="r") + 'inputs = ["incidents"]\n')
    tables = {"incidents": "a" * 64, "indicators": "b" * 64}

    def key(**changes) -> str:
        plan = load_plan(plan_path, registry)
        env = cache.environment(tmp_path, with_code=changes.get("with_code", False))
        parts = cache.key_parts(plan.reports, env, {**tables, **changes.get("tables", {})}, "plan")
        return cache.content_key(parts["r"])

    return key, tmp_path, notebook, source


def test_the_content_key_changes_with_each_thing_a_report_depends_on(keyed, monkeypatch):
    key, folder, notebook, source = keyed
    base = key()
    assert key() == base, "the key must be a function of content alone"
    assert key(tables={"indicators": "c" * 64}) == base, (
        "a table the report does not declare is irrelevant"
    )
    assert key(tables={"incidents": "c" * 64}) != base
    assert key(with_code=True) != base

    seen = {base}

    def changed(step) -> None:
        step()
        now = key()
        assert now not in seen, step.__doc__
        seen.add(now)

    def edit_notebook():
        """an edited cell"""
        document = json.loads(notebook.read_text())
        document["cells"][2]["source"] = "print(n + 1)"
        notebook.write_text(json.dumps(document))

    def edit_parameter():
        """a parameter value in the plan"""
        plan = folder / "reports.toml"
        plan.write_text(plan.read_text() + "parameters = { n = 4 }\n")

    def edit_source():
        """a module of src/analysis"""
        (source / "errors.py").write_text((source / "errors.py").read_text() + "\n# edited\n")

    def add_source():
        """a new TOML file under src/analysis"""
        (source / "data" / "sources" / "extra.toml").write_text("x = 1\n")

    def edit_lock():
        """the lock file"""
        (folder / "requirements.lock").write_text("pandas==3.1.2\n")

    def other_python():
        """the Python version"""
        monkeypatch.setattr(provenance, "python_version", lambda: "3.12.0")

    for step in (edit_notebook, edit_parameter, edit_source, add_source, edit_lock, other_python):
        changed(step)


def test_the_source_hash_depends_on_relative_paths_and_contents_only(tmp_path):
    tree = tmp_path / "a"
    (tree / "sub" / "__pycache__").mkdir(parents=True)
    (tree / "m.py").write_text("x = 1\n")
    (tree / "sub" / "r.toml").write_text("y = 2\n")
    (tree / "notes.txt").write_text("not source")
    digest = provenance.tree_sha256(tree)
    shutil.copytree(tree, tmp_path / "b")
    assert provenance.tree_sha256(tmp_path / "b") == digest
    (tree / "notes.txt").write_text("changed")
    (tree / "sub" / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"\0")
    assert provenance.tree_sha256(tree) == digest
    (tree / "sub" / "r.toml").rename(tree / "r.toml")
    assert provenance.tree_sha256(tree) != digest


def test_outputs_and_run_metadata_do_not_change_the_notebook_hash(notebook):
    before = cache.notebook_sha256(notebook)
    document = json.loads(notebook.read_text())
    cell = document["cells"][2]
    cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "3\n"}]
    cell["execution_count"] = 7
    cell["metadata"]["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    cell["metadata"]["papermill"] = {"duration": 1.5}
    notebook.write_text(json.dumps(document))
    assert cache.notebook_sha256(notebook) == before
    cell["metadata"]["tags"] = ["hide"]
    notebook.write_text(json.dumps(document))
    assert cache.notebook_sha256(notebook) != before


def test_status_says_why_a_published_report_is_stale(tmp_path):
    parts = {
        "notebook_sha256": "n",
        "parameters": {"n": 1},
        "inputs": {"incidents": "a", "indicators": "b"},
        "source_sha256": "s",
        "lock_sha256": "l",
        "python": "3.11.7",
        "with_code": False,
    }
    reports = tmp_path / "reports"
    assert cache.status("r", parts, reports).state == "never run"
    (reports / "r").mkdir(parents=True)
    cache.write_json(
        reports / "r" / "manifest.json", {"content_key": cache.content_key(parts), **parts}
    )
    assert cache.status("r", parts, reports) == cache.Status(
        "fresh", (), cache.read_json(reports / "r" / "manifest.json"), None
    )
    now = {
        **parts,
        "parameters": {"n": 2},
        "inputs": {"incidents": "z"},
        "source_sha256": "t",
        "python": "3.12.0",
    }
    status = cache.status("r", now, reports)
    assert status.state == "stale"
    assert status.reasons == (
        "parameter 'n' 1 → 2",
        "input 'incidents' changed",
        "input 'indicators' dropped",
        "code in src/analysis changed",
        "Python 3.11.7 → 3.12.0",
    )
    publish.keep_failed(
        publish.new_staging(reports, "r"),
        reports,
        "r",
        {"cell": 4, "ename": "ValueError", "evalue": "bad"},
    )
    status = cache.status("r", parts, reports)
    assert status.state == "failed"
    assert status.reasons == (
        "last run failed at cell 4: ValueError",
        "an earlier good run stays published",
    )


def test_input_hashes_come_from_the_data_manifest_and_unknown_tables_are_named(
    tmp_path, monkeypatch
):
    data = tmp_path / "data"
    data.mkdir()
    digest = {text: hashlib.sha256(text.encode()).hexdigest() for text in ("1", "2")}
    (data / "incidents.csv").write_text("1")
    cache.write_json(data / "manifest.json", {"tables": {"incidents": {"sha256": digest["1"]}}})
    monkeypatch.setenv("ANALYSIS_DATA_DIR", str(data))
    memo = cache.Memo(tmp_path / "memo.json")
    env = cache.environment(tmp_path, with_code=False)
    assert cache.table_hashes(memo, env) == {"incidents": digest["1"]}
    (data / "incidents.csv").write_text("2")
    cache.write_json(data / "manifest.json", {"tables": {"incidents": {"sha256": digest["2"]}}})
    assert cache.table_hashes(cache.Memo(tmp_path / "memo.json"), env) == {"incidents": digest["2"]}
    write_notebook(tmp_path / "nb" / "report.ipynb", PARAMETERS)
    plan = load_plan(
        write_plan(tmp_path, ENTRY.format(name="r") + 'inputs = ["incident"]\n'), registry
    )
    with pytest.raises(
        ConfigError,
        match="report 'r': input 'incident' is not a table of the data manifest; "
        "did you mean 'incidents'",
    ):
        cache.key_parts(plan.reports, env, {"incidents": "1" * 64}, "plan")


# --- publishing --------------------------------------------------------------------------------


def test_publish_swaps_the_whole_folder_and_clears_an_old_failure(tmp_path):
    reports = tmp_path / "reports"
    (reports / "r").mkdir(parents=True)
    (reports / "r" / "old.txt").write_text("old")
    publish.keep_failed(
        publish.new_staging(reports, "r"), reports, "r", {"cell": 1, "ename": "E", "evalue": ""}
    )
    staging = publish.new_staging(reports, "r")
    assert staging.parent == reports / ".staging" and staging.name.startswith("r-")
    (staging / "new.txt").write_text("new")
    publish.publish(staging, reports, "r")
    assert sorted(p.name for p in (reports / "r").iterdir()) == ["new.txt"]
    assert not (reports / "_failed" / "r").exists()
    assert list((reports / ".staging").iterdir()) == []


def test_leftovers_of_a_killed_run_are_removed_and_a_folder_caught_mid_swap_is_restored(tmp_path):
    reports = tmp_path / "reports"
    half_built = publish.new_staging(reports, "a")
    (half_built / "a.ipynb").write_text("{}")
    aside = reports / ".staging" / ".replaced-xyz" / "b"
    aside.mkdir(parents=True)
    (aside / "manifest.json").write_text("{}")
    (reports / "c").mkdir()
    replaced_c = reports / ".staging" / ".replaced-abc" / "c"
    replaced_c.mkdir(parents=True)  # c was swapped in completely; the aside copy is the old one
    (reports / ".index.html.4242.tmp").write_text("<html")
    assert publish.clean_leftovers(reports) == ["b"]
    assert not (reports / ".index.html.4242.tmp").exists()
    assert (reports / "b" / "manifest.json").is_file() and (reports / "c").is_dir()
    assert not (reports / ".staging").exists()


def test_normalise_makes_the_executed_notebook_independent_of_the_run(tmp_path):
    import nbformat

    staging = tmp_path / "reports" / ".staging" / "r-abc123"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f'output_dir = "{staging}"')])
    nb.cells[0].metadata.update(
        {"execution": {"iopub.execute_input": "2026"}, "papermill": {"duration": 1.0}}
    )
    nb.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"saved to {staging}/figures\n")
    ]
    nb.metadata["papermill"] = {
        "start_time": "t",
        "end_time": "t",
        "duration": 2.0,
        "parameters": {"output_dir": str(staging)},
        "input_path": str(tmp_path / "nb" / "report.ipynb"),
        "output_path": f"{staging}/r.ipynb",
    }
    normalised = publish.normalise(nb, "nb/report.ipynb", staging, "reports/r")
    cell = normalised.cells[0]
    assert (
        cell.source == 'output_dir = "reports/r"'
        and cell.outputs[0].text == "saved to reports/r/figures\n"
    )
    assert cell.metadata == {} and cell.id == publish.cell_id("nb/report.ipynb", 0)
    assert normalised.metadata["papermill"] == {
        "parameters": {"output_dir": "reports/r"},
        "input_path": "nb/report.ipynb",
        "output_path": "reports/r/r.ipynb",
    }
    assert publish.cell_id("nb/report.ipynb", 0) != publish.cell_id("nb/other.ipynb", 0)


# --- index and lock ----------------------------------------------------------------------------


def test_index_escapes_every_text_it_shows(tmp_path, notebook):
    plan = load_plan(
        write_plan(tmp_path, ENTRY.format(name="r") + 'parameters = { kind = "counts" }\n'),
        registry,
    )
    report = plan.reports[0]
    report.parameters["kind"] = "<script>alert(1)</script>"
    failure = {"cell": 2, "ename": "ValueError", "evalue": "<b>bad</b> & worse"}
    status = cache.Status("failed", ("last run failed at cell 2: ValueError",), None, failure)
    page = index.render_status(
        [(report, {"inputs": {"incidents": "a"}}, status)],
        "reports.toml",
        title="<i>study</i>",
        cite={"text": "cite <me>", "bibtex": "@misc{x}"},
    )
    assert "<i>study</i>" not in page and "cite &lt;me&gt;" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>bad</b>" not in page and "&lt;b&gt;bad&lt;/b&gt; &amp; worse" in page
    assert 'href="_failed/r/r.ipynb"' in page and "incidents: not yet used" in page


def test_a_rebuild_is_compared_file_by_file_and_the_commit_alone_is_no_difference(tmp_path):
    published, rebuilt = tmp_path / "published", tmp_path / "rebuilt"
    for folder, commit, table in ((published, "a", "1,2\n"), (rebuilt, "b", "1,3\n")):
        (folder / "tables").mkdir(parents=True)
        (folder / "tables" / "t.csv").write_text(table)
        (folder / "timings.json").write_text(commit)  # never compared
        manifest = {"git": {"commit": commit}, "report": "r"}
        (folder / "manifest.json").write_text(json.dumps(manifest))
    (published / "gone.png").write_bytes(b"png")
    (rebuilt / "new.png").write_bytes(b"png")
    assert verify.compare_trees(published, rebuilt) == [
        ("gone.png", "missing from the rebuild"),
        ("new.png", "only in the rebuild"),
        ("tables/t.csv", "bytes differ"),
    ]
    (rebuilt / "manifest.json").write_text(json.dumps({"git": {}, "report": "other"}))
    assert ("manifest.json", "manifest differs in ['report']") in verify.compare_trees(
        published, rebuilt
    )


def test_a_worker_on_the_clients_code_passes_and_one_on_other_code_is_refused():
    client = cluster.fingerprint()
    assert cluster.fingerprint() == client  # nothing in it changes between calls
    cluster._check_fingerprint(client)
    with pytest.raises(ConfigError, match="code in src/analysis differ"):
        cluster._check_fingerprint(("0" * 64, *client[1:]))


def test_the_lock_refuses_a_second_run_naming_the_holder(tmp_path):
    import os
    import time

    with RunLock(tmp_path).acquire(wait=0):
        started = time.monotonic()
        with pytest.raises(AnalysisError, match=rf"another `analysis run` \(pid {os.getpid()}\)"):
            RunLock(tmp_path).acquire(wait=0.3)
        assert time.monotonic() - started >= 0.3
    with RunLock(tmp_path).acquire(wait=0):  # released on exit
        pass
