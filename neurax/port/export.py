"""The live NEURON model as a neurax model document (runs inside a NEURON session).

:func:`export` walks everything that exists in NEURON at the moment it is called: every section (NEURON's
name, parent and attachment point, 3-D points or ``L``/``diam``, nseg, Ra, each segment's cm), every
density mechanism with every segment's RANGE parameters, the ions with every segment's reversal potential
and concentrations, the GLOBAL parameters, point processes (IClamp, ExpSyn, Exp2Syn and NMODL point
processes) with their hoc names, parameters and locations, artificial cells (NetStim and the ARTIFICIAL_CELLs
of NMODL files), the NetCons that connect them, and ``celsius``, ``v_init``, ``dt``, ``tstop``. NEURON's own
segment area and ``ri`` come along, so that the reader can check that neurax recomputes the same geometry.

NetCons are exported as NEURON holds them: the source is a membrane voltage (a section and the position of
the node whose voltage is watched), an artificial cell, or nothing (a NetCon that only receives
``NetCon.event`` calls); the target is a located point process or nothing (a NetCon that only detects spikes,
e.g. for ``NetCon.record``; such NetCons mark the model's spike sources). A NetCon with neither a source nor
a target has no effect on a simulation and is left out.

The document is plain data (see :mod:`neurax.port.model` for its fields); nothing here imports JAX.
"""

from __future__ import annotations

import math

__all__ = ["export", "FORMAT", "VERSION", "BUILTIN_POINT", "BUILTIN_ARTIFICIAL"]

FORMAT = "neurax-model"
VERSION = 1

#: Density mechanisms built into NEURON that neurax provides itself, with their RANGE parameters.
BUILTIN_DENSITY = {"hh": ("gnabar", "gkbar", "gl", "el"), "pas": ("g", "e")}
#: Point processes built into NEURON that a model file can carry, with their parameters: IClamp (delay and
#: dur in ms, amp in nA), ExpSyn (tau in ms, e in mV), Exp2Syn (tau1 and tau2 in ms, e in mV).
BUILTIN_POINT = {"IClamp": ("delay", "dur", "amp"), "ExpSyn": ("tau", "e"), "Exp2Syn": ("tau1", "tau2", "e")}
#: Artificial cells built into NEURON that a model file can carry, with their parameters: NetStim (interval
#: and start in ms, number of events, noise 0..1).
BUILTIN_ARTIFICIAL = {"NetStim": ("interval", "number", "start", "noise")}
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
    points, point_objects, cells, cell_objects = _point_processes(h, mechanisms, used)
    netcons = _netcons(h, point_objects, cell_objects)
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
        "artificial_cells": cells,
        "netcons": netcons,
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


def _point_processes(h, mechanisms: dict, used: set) -> tuple[list[dict], list, list[dict], list]:
    """Every located point process and every artificial cell, each with its parameters.

    Returns ``(point processes, their hoc objects, artificial cells, their hoc objects)``; the lists run by
    NEURON type number, then in creation order (point processes that are not in a section are left out: they
    have no effect in NEURON either).
    """
    points: list[dict] = []
    point_objects: list = []
    cells: list[dict] = []
    cell_objects: list = []
    kinds = h.MechanismType(1)
    name_ref = h.ref("")
    for k in range(int(kinds.count())):
        kinds.select(k)
        kinds.selected(name_ref)
        name = name_ref[0]
        instances = list(h.List(name))  # every instance, wherever it is (pp_begin sees one section only)
        if not instances:
            continue
        if kinds.is_artificial(k):
            if name in BUILTIN_ARTIFICIAL:
                params = BUILTIN_ARTIFICIAL[name]
            elif mechanisms.get(name, {}).get("kind") == "artificial":
                params = mechanisms[name]["range"]
                used.add(name)
            else:
                raise ValueError(f"{len(instances)} {name} artificial cell(s) exist ({instances[0]}, ...), which "
                                 "neurax cannot carry over (NetStim and the ARTIFICIAL_CELLs of --mod files can be)")
            for cell in instances:
                cells.append({"mechanism": name, "name": str(cell),
                              "params": {p: _finite(getattr(cell, p), f"{cell}.{p}") for p in params}})
                cell_objects.append(cell)
            continue
        if name in BUILTIN_POINT:
            params = BUILTIN_POINT[name]
        elif name in mechanisms:
            params = mechanisms[name]["range"]
            used.add(name)
        else:
            raise ValueError(f"a {name} point process exists ({instances[0]}), which neurax cannot carry over "
                             f"({', '.join(BUILTIN_POINT)} and the point processes of --mod files can be)")
        for pp in instances:
            seg = pp.get_segment()
            if seg is None:
                continue
            points.append({"mechanism": name, "name": str(pp), "section": seg.sec.name(), "x": float(seg.x),
                           "params": {p: float(getattr(pp, p)) for p in params}})
            point_objects.append(pp)
    return points, point_objects, cells, cell_objects


def _finite(value, what: str) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{what} is {value}; neurax needs a finite number")
    return value


#: What :func:`_netcons` tells the user neurax can carry.
NETCON_SUPPORT = ("neurax carries NetCons whose source is a membrane voltage (NetCon(sec(x)._ref_v, ..., sec=sec)), "
                  "an artificial cell or nothing, and whose target is a located point process or nothing")


def _netcons(h, point_objects: list, cell_objects: list) -> list[dict]:
    """Every NetCon (in creation order) with its source, threshold (mV), delay (ms), weights and target.

    ``source`` is ``{"section", "x"}`` for a watched membrane voltage (``x`` is the position of the node
    whose voltage NEURON watches), ``{"artificial": k}`` for ``artificial_cells[k]``, or None; ``target`` is
    an index into ``point_processes`` or None. NetCons with neither a source nor a target are left out.
    """
    points = {pp: k for k, pp in enumerate(point_objects)}
    cells = {cell: k for k, cell in enumerate(cell_objects)}
    out = []
    for nc in h.List("NetCon"):
        name = str(nc)
        pre, syn = nc.pre(), nc.syn()
        x = nc.preloc()  # pushes the source's section unless it returns -1 (no section)
        section = None
        if x != -1:
            section = h.cas().name()
            h.pop_section()
        if pre is None and section is None and syn is None:
            continue  # nothing to watch, nothing to drive (and NEURON cannot even report its threshold)
        if pre is not None:
            if pre not in cells:
                raise ValueError(f"{name} watches the point process {pre}, which is not an artificial cell; "
                                 f"{NETCON_SUPPORT}")
            source = {"artificial": cells[pre]}
        elif section is not None:
            if x < 0:
                raise ValueError(f"{name} watches a variable of {section} that is not its membrane voltage; "
                                 f"{NETCON_SUPPORT}")
            source = {"section": section, "x": float(x)}
        else:
            source = None
        if syn is None:
            target = None
        elif syn in cells:
            raise ValueError(f"{name} drives the artificial cell {syn}; {NETCON_SUPPORT}")
        elif syn not in points:
            raise ValueError(f"{name} drives {syn}, which is not in a section (or not a point process neurax "
                             f"carries); {NETCON_SUPPORT}")
        else:
            target = points[syn]
            if not nc.active():
                raise ValueError(f"{name} is inactive (NetCon.active(0)); neurax delivers the events of every "
                                 "NetCon with a target: remove it, or make it active")
        delay = _finite(nc.delay, f"the delay of {name}")
        if delay < 0:
            raise ValueError(f"the delay of {name} is {delay} ms; neurax needs a delay of 0 ms or more")
        out.append({"name": name, "source": source, "threshold": _finite(nc.threshold, f"the threshold of {name}"),
                    "delay": delay,
                    "weight": [_finite(nc.weight[i], f"weight[{i}] of {name}") for i in range(int(nc.wcnt()))],
                    "target": target})
    return out
