"""Convert a MorphIO-readable morphology (H5) into Neurolucida ASC text for NEURON.

NEURON's Import3d has no H5 reader, so the NEURON reference for an H5 file is made from an equivalent
Neurolucida ASC text.  The conversion is exact: every coordinate and diameter is written with
``repr(float(v))``, which round-trips the value MorphIO returns, so nothing is rounded on the way.

Layout of the text:

* the soma points become one ``("CellBody" (Color Red) (CellBody) (x y z d) ...)`` contour (NEURON's
  ``contour2centroid`` ignores the contour diameters; the MorphIO soma diameters are written anyway);
* every MorphIO root section becomes one tree ``( (Dendrite|Axon|Apical) (x y z d) ... ( child | child ) )``,
  each section written with exactly the points MorphIO returns (H5 v1 children usually repeat their parent's
  last point, which NEURON's reader then does not duplicate again);
* sections of another type get no type label, so NEURON calls them ``dend_0`` (recorded by the caller).

A soma with fewer than 3 points cannot be a Neurolucida contour (NEURON would ignore it); it is still written
so that the result is what NEURON would make of such a file.
"""

from __future__ import annotations

import sys

import morphio

#: Neurolucida tree labels for MorphIO section types (others are written without a label).
TREE_LABELS = {
    morphio.SectionType.axon: "Axon",
    morphio.SectionType.basal_dendrite: "Dendrite",
    morphio.SectionType.apical_dendrite: "Apical",
}


def _point(values, diameter) -> str:
    """Format one ``(x y z d)`` tuple with exact (round-tripping) float text."""
    x, y, z = (repr(float(v)) for v in values)
    return f"({x} {y} {z} {repr(float(diameter))})"


def _write_section(section, depth: int, out: list[str]) -> None:
    """Append the points of ``section`` and, recursively, a split with its children."""
    pad = "  " * depth
    for p, d in zip(section.points, section.diameters, strict=True):
        out.append(pad + _point(p, d))
    children = list(section.children)
    if not children:
        return
    out.append(pad + "(")
    for k, child in enumerate(children):
        if k:
            out.append(pad + "|")
        _write_section(child, depth + 1, out)
    out.append(pad + ")")


def h5_to_asc_text(path) -> str:
    """Return Neurolucida ASC text equivalent to the morphology at ``path`` (raw MorphIO points)."""
    morph = morphio.Morphology(str(path))
    out = [
        f"; converted from {path} by tests/reference_neuron/h5_to_asc.py",
        "; MorphIO raw points (no modifiers); every value written with repr(float(v))",
    ]
    soma_points = morph.soma.points
    if len(soma_points):
        out.append('("CellBody"')
        out.append("  (Color Red)")
        out.append("  (CellBody)")
        for p, d in zip(soma_points, morph.soma.diameters, strict=True):
            out.append("  " + _point(p, d))
        out.append(")")
        out.append("")
    for root in morph.root_sections:
        label = TREE_LABELS.get(root.type)
        out.append("(")
        if label is not None:
            out.append(f"  ({label})")
        _write_section(root, 1, out)
        out.append(")")
        out.append("")
    return "\n".join(out) + "\n"


def unlabeled_types(path) -> list[int]:
    """MorphIO section types in ``path`` that the ASC text cannot label (NEURON reads them as type 0)."""
    morph = morphio.Morphology(str(path))
    return sorted({int(s.type) for s in morph.iter() if s.type not in TREE_LABELS})


if __name__ == "__main__":
    sys.stdout.write(h5_to_asc_text(sys.argv[1]))
