"""MorphIO H5 (version 1) reader that imports the cell the way NEURON would import the same cell written as ASC.

NEURON has no H5 reader. The reference is the equivalent Neurolucida text: the soma points as one
``("CellBody" ...)`` contour and every MorphIO root section as one tree, each section with exactly the points
MorphIO stores (H5 v1 children usually repeat their parent's last point, so NEURON adds no extra point).
:func:`read_h5` builds that :class:`~neurax.io.asc.NeurolucidaData` directly from MorphIO and hands it to
:func:`~neurax.io.asc.neurolucida_to_raw_sections`, so soma contours, wires and parent points follow the
ASC rules exactly. Section types are kept as MorphIO reports them (2 axon, 3 basal, 4 apical, and custom
codes unchanged; an ASC file could only say 0 for the latter).

MorphIO returns float32 coordinates; they are widened to float64 exactly (a float64 file loses its extra
digits in MorphIO, which also prints a warning about it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurax.errors import MorphologyFileError, MorphologyStructureError
from neurax.io.asc import MAX_NESTING
from neurax.io.import3d import ImportLog, RawSection
from neurax.io.neurolucida import Branch, Contour, NeurolucidaData, Tree, neurolucida_to_raw_sections

__all__ = ["h5_to_neurolucida", "read_h5"]


def _points(section) -> np.ndarray:
    """``(n, 4)`` float64 x, y, z, diameter (um) of a MorphIO section or soma."""
    xyz = np.asarray(section.points, dtype=np.float64).reshape(-1, 3)
    d = np.asarray(section.diameters, dtype=np.float64).reshape(-1, 1)
    return np.hstack([xyz, d])


def _tree(root, path: str) -> Branch:
    """The MorphIO section and its descendants as branches, children in MorphIO's order."""
    top = Branch(_points(root))
    stack = [(root, top, 1)]
    while stack:
        section, branch, depth = stack.pop()
        if depth >= MAX_NESTING and section.children:
            raise MorphologyStructureError(
                f"branches are nested more than {MAX_NESTING - 1} levels deep", path,
                hint="NEURON fails to read the equivalent Neurolucida file (hoc: call nested too deeply)")
        for child in section.children:
            sub = Branch(_points(child))
            branch.children.append(sub)
            stack.append((child, sub, depth + 1))
    return top


def h5_to_neurolucida(path: str) -> NeurolucidaData:
    """Read an H5 morphology with MorphIO (raw points, no modifiers) as the equivalent Neurolucida data.

    Args:
        path: the ``.h5`` file.

    Raises:
        MorphologyFileError: the file is missing, not HDF5, or not a morphology MorphIO can read.
        MorphologyStructureError: a non-finite value, or branches nested deeper than NEURON can read.
    """
    name = str(path)
    if not Path(name).is_file():
        raise MorphologyFileError("the file does not exist", name)
    with open(name, "rb") as fh:
        magic = fh.read(8)
    if magic != b"\x89HDF\r\n\x1a\n":
        raise MorphologyFileError("this is not an HDF5 file", name, hint="an .h5 morphology starts with the HDF5 "
                                  "signature; a text file may be SWC or Neurolucida ASC")
    try:
        import morphio
    except ImportError as exc:  # pragma: no cover - morphio is a dependency
        raise MorphologyFileError("reading H5 needs the morphio package", name) from exc
    try:
        morph = morphio.Morphology(name)
        soma = _points(morph.soma)
        roots = list(morph.root_sections)
        data = NeurolucidaData(name)
        if len(soma):
            data.contours.append(Contour("CellBody", soma, None, None))
        for root in roots:
            data.trees.append(Tree(int(root.type), _tree(root, name)))
    except (MorphologyFileError, MorphologyStructureError):
        raise
    except Exception as exc:  # MorphIO raises its own RawDataError, UnknownFileType, RuntimeError, ...
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MorphologyFileError(f"MorphIO cannot read this H5 morphology ({type(exc).__name__}: {message})",
                                  name) from None
    arrays = [c.points for c in data.contours]
    stack = [t.root for t in data.trees]
    while stack:
        branch = stack.pop()
        arrays.append(branch.points)
        stack.extend(branch.children)
    if arrays and not np.isfinite(np.concatenate(arrays)).all():
        raise MorphologyStructureError("a point has a non-finite coordinate or diameter", name)
    return data


def read_h5(path: str, log: ImportLog) -> list[RawSection]:
    """Import a MorphIO H5 (v1) morphology as NEURON imports the equivalent ASC file.

    Args:
        path: the ``.h5`` file.
        log: receives the repairs NEURON would make (a small soma contour ignored, trees wired to the soma
            from outside its bounding box), or refuses them in strict mode.

    Returns:
        NEURON's raw sections (points in um, float64).

    Raises:
        MorphologyFileError: unreadable or corrupt file.
        MorphologyStructureError: a non-finite value, or branches nested deeper than NEURON can read.
    """
    return neurolucida_to_raw_sections(h5_to_neurolucida(path), log)
