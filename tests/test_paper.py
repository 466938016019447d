"""The example paper uses only macros and files that the committed reports provide."""

import re

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
