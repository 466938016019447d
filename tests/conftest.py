"""Shared test helpers: where the raw data lives, and a skip when it is absent."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

requires_shared = pytest.mark.skipif(
    not SHARED_DATA.is_dir(),
    reason=f"raw data not found at {SHARED_DATA} (clone the project beside ../shared to run this)",
)


@pytest.fixture
def write(tmp_path):
    """Write text (or bytes) to a file in tmp_path and return its path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write
