"""Run a notebook's code cells inside this (forked) process and record them as nbformat outputs.

A Jupyter kernel costs a process start plus the heavy imports for every report. A worker forked
from a parent that already holds those imports, running a fresh IPython shell, does the same job
and records what a kernel would send: streams, ``display_data`` (figures through matplotlib's
inline backend, as ipykernel does), ``execute_result`` and ``error`` with IPython's traceback.
"""

from __future__ import annotations

import base64
import io
import os
import sys
from pathlib import Path

from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from nbformat import NotebookNode
from nbformat.v4 import new_output
from traitlets import Type
from traitlets.config import Config

BINARY_MIMES = ("image/png", "image/jpeg", "application/pdf")


class Outputs:
    """The outputs of the running cell, in order; consecutive writes to one stream join up."""

    def __init__(self) -> None:
        self.items: list[NotebookNode] = []
        self._clear_before_next = False

    def add(self, output: NotebookNode) -> None:
        if self._clear_before_next:
            self.items.clear()
            self._clear_before_next = False
        self.items.append(output)

    def stream(self, name: str, text: str) -> None:
        last = self.items[-1] if self.items and not self._clear_before_next else None
        if last is not None and last.output_type == "stream" and last.name == name:
            last.text += text
        elif text:
            self.add(new_output("stream", name=name, text=text))

    def clear(self, wait: bool) -> None:
        """IPython.display.clear_output: with wait, only once the next output arrives."""
        if wait:
            self._clear_before_next = True
        else:
            self.items.clear()


class _Stream(io.TextIOBase):
    def __init__(self, shell: CellShell, name: str):
        self.shell, self.name = shell, name

    @property
    def encoding(self) -> str:
        return "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.shell.outputs.stream(self.name, text)
        return len(text)


def _jsonable(data: dict) -> dict:
    """Binary representations as base64 text, as ipykernel sends them and nbformat stores them."""
    return {
        mime: base64.b64encode(value).decode("ascii")
        if isinstance(value, bytes) and mime in BINARY_MIMES
        else value
        for mime, value in data.items()
    }


class _DisplayHook(DisplayHook):
    """The value of a cell's last expression becomes an ``execute_result``."""

    def write_output_prompt(self) -> None:
        pass

    def write_format_data(self, format_dict, md_dict=None) -> None:
        self.shell.outputs.add(
            new_output(
                "execute_result",
                data=_jsonable(format_dict),
                metadata=md_dict or {},
                execution_count=self.prompt_count,
            )
        )


class _DisplayPublisher(DisplayPublisher):
    def publish(
        self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs
    ) -> None:
        self.shell.outputs.add(
            new_output("display_data", data=_jsonable(data), metadata=metadata or {})
        )

    def clear_output(self, wait=False) -> None:
        self.shell.outputs.clear(wait)


class CellShell(InteractiveShell):
    """An IPython shell whose displays, results and tracebacks go to the running cell's outputs."""

    displayhook_class = Type(_DisplayHook)
    display_pub_class = Type(_DisplayPublisher)
    outputs: Outputs

    def _showtraceback(self, etype, evalue, stb) -> None:
        self.outputs.add(
            new_output("error", ename=etype.__name__, evalue=str(evalue), traceback=stb)
        )

    def enable_gui(self, gui=None) -> None:
        """No GUI event loop in a batch run: the inline backend, the only one used, needs none."""


def execute(nb: NotebookNode, cwd: Path) -> NotebookNode:
    """Execute the code cells in order in a new shell, stopping at the first error like papermill.

    Must run in a process of its own (a forked worker): the shell is the process-wide IPython
    instance, and the working directory and ``sys.path`` change as they would in a kernel started
    in the notebook's folder.
    """
    config = Config()
    config.HistoryManager.enabled = False  # no sqlite file, no history thread
    shell = CellShell.instance(config=config)
    shell.enable_matplotlib("inline")
    import matplotlib.pyplot as plt

    plt.close("all")  # a figure the parent left open would otherwise be shown after the first cell
    os.chdir(cwd)
    sys.path.insert(0, str(cwd))
    streams = _Stream(shell, "stdout"), _Stream(shell, "stderr")
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if not cell.source.strip():
            continue
        shell.outputs = Outputs()
        cell.execution_count = shell.execution_count
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = streams
        try:
            succeeded = shell.run_cell(cell.source, store_history=True).success
        except Exception as exc:  # noqa: BLE001 - raised outside user code, e.g. the report's timeout between statements
            shell.outputs.add(
                new_output("error", ename=type(exc).__name__, evalue=str(exc), traceback=[])
            )
            succeeded = False
        finally:
            sys.stdout, sys.stderr = saved
            cell.outputs = shell.outputs.items
        if not succeeded:
            break
    return nb
