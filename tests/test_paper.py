"""The example paper uses only macros and files that the committed reports provide."""

import os
import re
import shutil
import subprocess

import pytest
from conftest import ROOT

PAPER = ROOT / "paper" / "main.tex"


def _inputs(text: str) -> list[str]:
    return re.findall(r"\\input\{([^}]+)\}", text) + re.findall(
        r"\\includegraphics(?:\[[^]]*\])?\{([^}]+)\}", text
    )


def test_every_file_the_paper_uses_exists():
    missing = [name for name in _inputs(PAPER.read_text()) if not (PAPER.parent / name).is_file()]
    assert not missing, f"paper/main.tex uses files no committed report provides: {missing}"


def test_every_macro_the_paper_uses_is_defined_by_a_report():
    text = PAPER.read_text()
    defined = set()
    for name in _inputs(text):
        if name.endswith("numbers.tex"):
            defined |= set(
                re.findall(r"\\newcommand\{\\([A-Za-z]+)\}", (PAPER.parent / name).read_text())
            )
    used = set(re.findall(r"\\([A-Z][A-Za-z]+)", text.split(r"\begin{document}", 1)[1]))
    assert used - defined == set(), f"undefined macros: {sorted(used - defined)}"
    assert len(used) >= 5


def _pdflatex() -> str:
    path = shutil.which("pdflatex")
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail("pdflatex is not installed: .ci/run installs texlive-latex-recommended")
    pytest.skip("pdflatex is not installed (apt-get install texlive-latex-recommended)")


@pytest.mark.latex
@pytest.mark.slow
def test_the_paper_compiles_without_undefined_references_or_overfull_tables(tmp_path):
    """Compiled twice as a reader would: every reference resolves, nothing runs off the page."""
    command = [_pdflatex(), "-interaction=nonstopmode", "-halt-on-error"]
    for _ in range(2):
        done = subprocess.run(
            [*command, f"-output-directory={tmp_path}", PAPER.name],
            cwd=PAPER.parent,
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-3000:]
    log = (tmp_path / "main.log").read_text(encoding="latin-1")
    assert "undefined" not in log.lower(), [l for l in log.splitlines() if "undefined" in l]
    assert "Overfull \\hbox" not in log, [l for l in log.splitlines() if "Overfull" in l]
    assert "Float too large" not in log
    assert (tmp_path / "main.pdf").stat().st_size > 0
