"""Shared test helpers: where the shared morphologies and the NEURON references live."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_MORPHOLOGIES = REPO.parent / "shared" / "morphologies"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


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
