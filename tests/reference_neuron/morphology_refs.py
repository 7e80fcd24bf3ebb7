"""Read the NEURON morphology references written by ``generate_morphology.py``.

Example::

    from tests.reference_neuron.morphology_refs import load_reference, reference_files

    ref = load_reference("tests/reference_neuron/morphology/nrn__111200A.asc.npz")
    ref["status"]                                  # "ok" or "error"
    sec = ref["by_name"]["dend[3]"]
    sec["points"]                                  # (n3d, 4) x, y, z, diam as NEURON stores them
    sec["configs"]["dlambda"]["area"]              # seg.area() for every segment, in order
    ref["configs"]["nseg3"]["Ra"]                  # 35.4
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

REFERENCE_DIR = Path(__file__).resolve().parent / "morphology"
CONFIG_NAMES = ("nseg1", "nseg3", "dlambda")


def reference_files(group: str | None = None) -> list[Path]:
    """All stored morphology references (optionally only one group, e.g. ``"random"``)."""
    pattern = f"{group}__*.npz" if group else "*.npz"
    return sorted(REFERENCE_DIR.glob(pattern))


def load_reference(path) -> dict:
    """Decode one reference ``.npz`` into plain Python structures.

    Returns a dict with:

    * ``meta``: the full JSON metadata; ``status``, ``error``, ``messages``, ``source``, ``format``, ``via``;
    * ``sections``: list in ``h.allsec()`` order of dicts with ``name``, ``parent``, ``parent_x``, ``n3d``,
      ``L``, ``points`` (n3d, 4), ``arc3d`` (n3d,) and ``configs`` (per configuration: ``nseg``, ``x``,
      ``area``, ``ri``, ``diam`` arrays and the float ``ri1`` = ``sec(1).ri()``), and ``by_name``;
    * ``sectionlists``: list name -> section names;
    * ``configs``: per configuration ``Ra``, ``cm``, ``nseg`` (list), ``error`` (``None`` when it worked);
    * ``raw_sections``: the reader's raw sections (before ``chk_valid``), each with its metadata plus
      ``points`` (n, 4) and ``iline`` (n,);
    * ``swc_table``: (K, 8) id, type, x, y, z, d, pid, line for SWC files, else ``None``.
    """
    with np.load(Path(path), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("meta")))
    sections = []
    pt_off = arrays.get("pt3d_offsets")
    for k, s in enumerate(meta["sections"]):
        sec = dict(s)
        a, b = int(pt_off[k]), int(pt_off[k + 1])
        sec["points"] = arrays["pt3d"][a:b]
        sec["arc3d"] = arrays["arc3d"][a:b]
        sec["configs"] = {}
        sections.append(sec)
    configs = {}
    for name, cfg in meta.get("configs", {}).items():
        configs[name] = dict(cfg)
        if cfg.get("error"):
            continue
        off = arrays[f"{name}_seg_offsets"]
        for k, sec in enumerate(sections):
            a, b = int(off[k]), int(off[k + 1])
            sec["configs"][name] = {
                "nseg": b - a,
                "x": arrays[f"{name}_x"][a:b],
                "area": arrays[f"{name}_area"][a:b],
                "ri": arrays[f"{name}_ri"][a:b],
                "diam": arrays[f"{name}_diam"][a:b],
                "ri1": float(arrays[f"{name}_ri1"][k]),
            }
    raw_sections = []
    raw_off = arrays.get("raw_offsets")
    for k, r in enumerate(meta.get("raw_sections", [])):
        raw = dict(r)
        a, b = int(raw_off[k]), int(raw_off[k + 1])
        raw["points"] = arrays["raw_points"][a:b]
        raw["iline"] = arrays["raw_iline"][a:b]
        raw_sections.append(raw)
    return {
        "path": str(path),
        "meta": meta,
        "status": meta["status"],
        "error": meta.get("error"),
        "messages": meta.get("messages", []),
        "source": meta.get("source"),
        "format": meta.get("format"),
        "via": meta.get("via"),
        "sections": sections,
        "by_name": {s["name"]: s for s in sections},
        "sectionlists": meta.get("sectionlists", {}),
        "configs": configs,
        "raw_sections": raw_sections,
        "swc_table": arrays.get("swc_table"),
        "arrays": arrays,
    }
