"""Reading reconstructed morphologies exactly as NEURON's Import3d does.

:func:`load` is the entry point; the per-format readers live in ``swc.py``, ``asc.py`` and ``h5.py``, and
the part common to every format (naming, degenerate sections, somata, float32 points) in ``import3d.py``.
"""

from __future__ import annotations

import os

from neurax.errors import MorphologyError, MorphologyFileError
from neurax.io.files import check_exists, detect_format
from neurax.io.import3d import ImportLog, instantiate

__all__ = ["load"]


def load(path: str | os.PathLike, *, strict: bool = False, format: str | None = None):
    """Load a morphology file into the sections NEURON's Import3d would build.

    Args:
        path: an ``.swc``, ``.asc`` (Neurolucida) or ``.h5`` (MorphIO) file.
        strict: refuse (with :class:`~neurax.errors.StrictModeError`) anything NEURON would silently
            repair; by default such files are repaired as NEURON does, with a
            :class:`~neurax.errors.MorphologyRepairWarning` naming each repair.
        format: ``"swc"``, ``"asc"`` or ``"h5"`` to override detection by extension.

    Returns:
        A :class:`~neurax.morphology.Morphology`.

    Raises:
        MorphologyError: the file cannot be read; the message names the file, the line and the problem.
    """
    path = os.fspath(path)
    fmt = format.lower() if format else detect_format(path)
    log = ImportLog(path, strict=strict)
    check_exists(path)
    if fmt == "swc":
        from neurax.io.swc import read_swc as reader
    elif fmt == "asc":
        from neurax.io.asc import read_asc as reader
    elif fmt == "h5":
        from neurax.io.h5 import read_h5 as reader
    else:
        raise MorphologyFileError(f"unknown format {format!r}", path, None, "use 'swc', 'asc' or 'h5'")
    raw = reader(path, log)
    if not raw:
        raise MorphologyError("the file holds no sections NEURON would create", path, None,
                              "does it contain any traced points?")
    morphology = instantiate(raw, log, source=path)
    log.emit(stacklevel=3)
    return morphology
