"""The live NEURON model as a neurax model document (runs inside a NEURON session).

:func:`export` walks everything that exists in NEURON at the moment it is called: every section (NEURON's
name, parent and attachment point, 3-D points or ``L``/``diam``, nseg, Ra, each segment's cm), every
density mechanism with every segment's RANGE parameters, the ions with every segment's reversal potential
and concentrations, the GLOBAL parameters, point processes (IClamp and NMODL point processes) with their
parameters and locations, and ``celsius``, ``v_init``, ``dt``, ``tstop``. NEURON's own segment area and
``ri`` come along, so that the reader can check that neurax recomputes the same geometry.

The document is plain data (see :mod:`neurax.port.model` for its fields); nothing here imports JAX.
"""

from __future__ import annotations

import math

__all__ = ["export", "FORMAT", "VERSION"]

FORMAT = "neurax-model"
VERSION = 1

#: Density mechanisms built into NEURON that neurax provides itself, with their RANGE parameters.
BUILTIN_DENSITY = {"hh": ("gnabar", "gkbar", "gl", "el"), "pas": ("g", "e")}
#: Point processes built into NEURON that a model file can carry.
BUILTIN_POINT = {"IClamp": ("delay", "dur", "amp")}
#: The ions NEURON knows: variables exported per segment.
ION_VARIABLES = ("e{}", "{}i", "{}o")


def export(h, mechanisms: dict[str, dict] | None = None, source: dict | None = None) -> dict:
    """The model document of the live NEURON session ``h``.

    Args:
        h: ``neuron.h``.
        mechanisms: the NMODL mechanisms compiled for this session, by name: ``{"file": name of the .mod
            file, "order": NEURON type number, "source": its text, "range": RANGE parameters, "globals":
            GLOBAL parameters, "kind": "density" | "point" | "artificial"}``.
        source: where the model came from (script, NEURON version), stored as given.

    Raises:
        ValueError: something neurax cannot carry over (its message says what and where).
    """
    mechanisms = dict(mechanisms or {})
    if int(h.secondorder) != 0:
        raise ValueError(f"secondorder = {int(h.secondorder)}: neurax runs NEURON's default backward Euler "
                         "(secondorder = 0)")
    if h.CVode().active():
        raise ValueError("CVode is active: neurax runs NEURON's fixed step (turn it off with h.CVode().active(0))")
    sections = []
    used: set[str] = set()
    ions_used: set[str] = set()
    for sec in h.allsec():
        sections.append(_section(h, sec, mechanisms, used, ions_used))
    if not sections:
        raise ValueError("the script left no sections alive: keep a reference to each cell (a module-level "
                         "name or a list) until the script ends")
    points = _point_processes(h, mechanisms, used)
    globals_: dict[str, float] = {}
    for name in sorted(used):
        for g in mechanisms.get(name, {}).get("globals", ()):
            globals_[f"{g}_{name}"] = float(getattr(h, f"{g}_{name}"))
        if name in mechanisms and _has_table(mechanisms[name]["source"]):
            globals_[f"usetable_{name}"] = float(getattr(h, f"usetable_{name}"))
    if "hh" in used:
        globals_["usetable_hh"] = float(h.usetable_hh)
    for ion in sorted(ions_used):
        for suffix in ("i0", "o0"):
            globals_[f"{ion}{suffix}_{ion}_ion"] = float(getattr(h, f"{ion}{suffix}_{ion}_ion"))
    return {
        "format": FORMAT,
        "version": VERSION,
        "source": source or {},
        "settings": {"celsius": float(h.celsius), "v_init": float(h.v_init), "dt": float(h.dt),
                     "tstop": float(h.tstop)},
        "mechanisms": {name: {k: v for k, v in mechanisms[name].items() if k in ("file", "order", "source")}
                       for name in sorted(used) if name in mechanisms},
        "globals": globals_,
        "sections": sections,
        "point_processes": points,
    }


def _has_table(text: str) -> bool:
    return any(line.split(":", 1)[0].strip().startswith("TABLE") for line in text.splitlines())


def _section(h, sec, mechanisms: dict, used: set, ions_used: set) -> dict:
    name = sec.name()
    if h.section_orientation(sec=sec) != 0:
        raise ValueError(f"{name} is connected by its 1 end; neurax needs every child connected by its 0 end")
    parent = sec.parentseg()
    nseg = int(sec.nseg)
    segs = list(sec)
    n3d = int(sec.n3d())
    entry = {
        "name": name,
        "parent": None if parent is None else parent.sec.name(),
        "parent_x": None if parent is None else float(parent.x),
        "nseg": nseg,
        "L": float(sec.L),
        "Ra": float(sec.Ra),
        "cm": [float(seg.cm) for seg in segs],
        "pt3d": [[float(sec.x3d(i)), float(sec.y3d(i)), float(sec.z3d(i)), float(sec.diam3d(i))] for i in range(n3d)],
        "diam": [float(seg.diam) for seg in segs],
        "area": [float(seg.area()) for seg in segs],
        "ri": [float(seg.ri()) for seg in segs],
        "mechanisms": {},
        "ions": {},
    }
    info = sec.psection()
    for mech, values in info["density_mechs"].items():
        if mech in BUILTIN_DENSITY:
            params = BUILTIN_DENSITY[mech]
        elif mech in mechanisms:
            params = mechanisms[mech]["range"]
        else:
            raise ValueError(f"{name} has {mech}, which is built into NEURON and not supported by neurax (hh and "
                             "pas are), or whose .mod file was not given with --mod")
        used.add(mech)
        entry["mechanisms"][mech] = {p: [float(x) for x in values[p]] for p in params}
    for ion, values in info["ions"].items():
        ions_used.add(ion)
        style = int(h.ion_style(f"{ion}_ion", sec=sec))
        entry["ions"][ion] = {"style": style, **{v.format(ion): [float(x) for x in values[v.format(ion)]]
                                                 for v in ION_VARIABLES}}
    for value in entry["diam"] + entry["cm"] + [entry["Ra"], entry["L"]]:
        if not math.isfinite(value):
            raise ValueError(f"{name} has a non-finite geometry or cable parameter")
    return entry


def _point_processes(h, mechanisms: dict, used: set) -> list[dict]:
    """Every point process (IClamp and NMODL point processes) with its location and parameters."""
    out = []
    kinds = h.MechanismType(1)
    name_ref = h.ref("")
    for k in range(int(kinds.count())):
        kinds.select(k)
        kinds.selected(name_ref)
        name = name_ref[0]
        pp = kinds.pp_begin()
        while pp is not None:
            if name in BUILTIN_POINT:
                params = BUILTIN_POINT[name]
            elif name in mechanisms:
                params = mechanisms[name]["range"]
                used.add(name)
            else:
                raise ValueError(f"a {name} point process exists, which neurax cannot carry over (IClamp and "
                                 "the point processes of --mod files can be)")
            seg = pp.get_segment()
            if seg is None:  # not located: it has no effect in NEURON either
                pp = kinds.pp_next()
                continue
            out.append({"mechanism": name, "section": seg.sec.name(), "x": float(seg.x),
                        "params": {p: float(getattr(pp, p)) for p in params}})
            pp = kinds.pp_next()
    return out
