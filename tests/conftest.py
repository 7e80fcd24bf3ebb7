"""Shared test helpers: where the shared morphologies and the NEURON references live."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_MORPHOLOGIES = REPO.parent / "shared" / "morphologies"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked ``slow`` (minutes on a 2-core machine) first: run in two processes (``-n 2``), the two
    processes then share them out at the start instead of one process running the longest alone at the end.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: the rest keep their order


def shared(relative: str) -> Path:
    """A file under ../shared/morphologies, skipping the test when the shared folder is absent."""
    path = SHARED_MORPHOLOGIES / relative
    if not path.exists():
        pytest.skip(f"{path} not found (the shared morphologies sit beside the project)")
    return path


def reference_source(source: str) -> Path:
    """The morphology file a NEURON reference was made from."""
    if source.startswith("tests/"):
        return REPO / source
    return shared(source)
