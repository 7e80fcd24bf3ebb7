"""A ported NEURON model: the model file, read, checked and turned into neurax cells.

A model file (JSON, written by ``neurax port`` or :func:`neurax.from_neuron`) is plain data a person can read
and edit::

    {"format": "neurax-model", "version": 1,
     "settings": {"celsius": 34.0, "v_init": -70.0, "dt": 0.025, "tstop": 500.0},
     "mechanisms": {"NaT": {"file": "NaT.mod", "order": 24, "source": "NEURON { SUFFIX NaT ... }"}, ...},
     "globals": {"q10_NaT": 2.3, "cai0_ca_ion": 5e-05, "usetable_NaT": 1.0, ...},
     "sections": [{"name": "L5PC[0].soma[0]", "parent": null, "parent_x": null, "nseg": 1, "L": 23.1,
                   "Ra": 100.0, "cm": [1.0], "pt3d": [[x, y, z, diam], ...], "diam": [23.0],
                   "area": [1670.3], "ri": [0.009],
                   "mechanisms": {"NaT": {"gbar": [2.04]}, "pas": {"g": [3e-5], "e": [-75.0]}},
                   "ions": {"na": {"style": 8, "ena": [50.0], "nai": [10.0], "nao": [140.0]}}}, ...],
     "point_processes": [{"mechanism": "IClamp", "section": "L5PC[0].soma[0]", "x": 0.5,
                          "params": {"delay": 10.0, "dur": 400.0, "amp": 0.8}}]}

Per-segment lists hold one value per segment (``nseg``); ``pt3d`` is empty for a section NEURON defines by
``L`` and ``diam``. ``area`` and ``ri`` are NEURON's, kept so that the port can check that neurax computes
the same geometry (they are not used to simulate). Sections form one cell per tree. Mechanism sources are
embedded, so a model file runs anywhere without NEURON or the original ``.mod`` files.

:func:`load_model` reads a file and checks it: a hand-edited file that no longer makes sense is refused with
one message naming the file, the entry and what is wrong.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from neurax.errors import NeuraxError
from neurax.port.export import BUILTIN_DENSITY, FORMAT, VERSION

__all__ = ["Model", "ModelError", "load_model", "save_model", "build_model"]


class ModelError(NeuraxError):
    """A model file that cannot be read or does not make sense."""


@dataclass
class Model:
    """A ported model ready to simulate.

    Attributes:
        path: the model file (None for a model made in memory).
        document: the model document.
        cells: one :class:`~neurax.cell.Cell` per tree of sections.
        stimuli: the current clamps (:class:`~neurax.stimuli.IClamp`), per cell.
        settings: ``celsius`` (degC), ``v_init`` (mV), ``dt`` (ms), ``tstop`` (ms) and ``rates``.
        mechanisms: the mechanism classes by name.
        network: for a model with NetCons or NetStims, the :class:`~neurax.network.Network` (its one cell is
            ``cells[0]``, every cell's sections together).
    """

    path: str | None
    document: dict
    cells: tuple
    stimuli: tuple
    settings: dict
    mechanisms: dict = field(default_factory=dict)
    network: object = None

    @property
    def cell(self):
        """The model's cell (an error if it has several)."""
        if len(self.cells) != 1:
            raise ModelError(f"{self.path or 'the model'} has {len(self.cells)} cells; use model.cells")
        return self.cells[0]

    def cell_of(self, location: str) -> int:
        """The index of the cell holding a location such as ``"L5PC[0].soma[0](0.5)"``."""
        from neurax.errors import LocationError

        for k, cell in enumerate(self.cells):
            try:
                cell.morphology.location(location)
                return k
            except LocationError:
                continue
        names = [sec.name for cell in self.cells for sec in cell.morphology][:6]
        raise LocationError(f"no section of {self.path or 'the model'} holds {location!r} (sections are named as "
                            f"NEURON names them, e.g. {', '.join(names)})")

    def simulate(self, record: Sequence[str] | None = None, *, stimuli: Sequence = (), **overrides):
        """Simulate every cell with the model's settings and clamps (``overrides`` replace settings, e.g.
        ``tstop=100.0``; ``stimuli`` add clamps); records ``record`` (default: each cell's first section's
        middle). Returns one :class:`~neurax.simulation.Solution` with every record.
        """
        from neurax._jax import jnp
        from neurax.simulation import Solution, simulate

        settings = {**self.settings, **overrides}
        if self.network is not None:  # one simulation of the whole network (its spikes in the solution)
            if record is None:
                record = [f"{sec.name}(0.5)" for sec in self.cells[0].morphology if sec.parent is None]
            return simulate(self.network, [*self.stimuli[0], *stimuli], record, **settings)
        extra = [[] for _ in self.cells]
        for stim in stimuli:
            extra[self.cell_of(stim.location)].append(stim)
        if record is None:
            record = [f"{cell.morphology[0].name}(0.5)" for cell in self.cells]
        by_cell: dict[int, list[str]] = {}
        for loc in record:
            by_cell.setdefault(self.cell_of(loc), []).append(loc)
        traces: dict[str, object] = {}
        t = None
        for k, locs in by_cell.items():
            sol = simulate(self.cells[k], [*self.stimuli[k], *extra[k]], locs, **settings)
            t = sol.t
            for loc in locs:
                traces[loc] = sol[loc]
        return Solution(t=t, v=jnp.stack([traces[loc] for loc in record]), record=tuple(record))


def save_model(document: dict, path: str) -> None:
    """Write a model document as JSON, atomically (a half-written file never replaces a good one)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ModelError(f"cannot write {path}: folder {folder} does not exist")
    tmp = f"{path}.part"
    with open(tmp, "w") as handle:
        json.dump(document, handle, indent=1)
        handle.write("\n")
    os.replace(tmp, path)


def load_model(path: str) -> Model:
    """Read, check and build a model file (see the module docstring).

    Raises:
        ModelError: a missing or malformed file, or one whose entries do not fit together (named).
    """
    if not os.path.isfile(path):
        raise ModelError(f"{path}: no such model file")
    try:
        with open(path) as handle:
            document = json.load(handle)
    except json.JSONDecodeError as err:
        raise ModelError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    except UnicodeDecodeError:
        raise ModelError(f"{path}: not a text file") from None
    return build_model(document, path)


# -- checks -------------------------------------------------------------------------------------------------


def _near(name: str, choices, cutoff: float = 0.6) -> str:
    """``"; did you mean X?"`` for the nearest of ``choices``, or nothing."""
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=cutoff)
    return f"; did you mean {close[0]!r}?" if close else ""


def _need(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise ModelError(f"{where}: {message}")


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _numbers(xs, n: int | None = None) -> bool:
    return isinstance(xs, list) and all(_number(x) for x in xs) and (n is None or len(xs) == n)


def check_document(doc: dict, path: str) -> None:
    """Every entry of a model document has the fields and types it needs (see the module docstring)."""
    _need(isinstance(doc, dict) and doc.get("format") == FORMAT, path, f"not a neurax model file (no \"format\": "
          f"\"{FORMAT}\")")
    _need(doc.get("version") == VERSION, path, f"model file version {doc.get('version')!r}; this neurax reads "
          f"version {VERSION}")
    settings = doc.get("settings", {})
    for key in ("celsius", "v_init", "dt", "tstop"):
        _need(_number(settings.get(key)), path, f"settings.{key} must be a number")
    _need(settings["dt"] > 0 and settings["tstop"] >= 0, path, "settings.dt must be positive and tstop not negative")
    sections = doc.get("sections")
    _need(isinstance(sections, list) and sections, path, "\"sections\" must be a non-empty list")
    names = set()
    mechanisms = doc.get("mechanisms", {})
    _need(isinstance(mechanisms, dict), path, "\"mechanisms\" must be an object")
    for name, mech in mechanisms.items():
        _need(isinstance(mech, dict) and isinstance(mech.get("source"), str) and _number(mech.get("order")),
              path, f"mechanism {name} needs its NMODL \"source\" text and its \"order\" (NEURON type number)")
    for k, sec in enumerate(sections):
        where = f"{path}: section {k}"
        _need(isinstance(sec, dict) and isinstance(sec.get("name"), str), where, "needs a \"name\"")
        where = f"{path}: section {sec['name']}"
        _need(sec["name"] not in names, where, "appears twice")
        names.add(sec["name"])
        nseg = sec.get("nseg")
        _need(isinstance(nseg, int) and not isinstance(nseg, bool) and 1 <= nseg <= 32767, where,
              "nseg must be a whole number from 1 to 32767")
        _need(_number(sec.get("Ra")) and sec["Ra"] > 0, where, "Ra must be a positive number (ohm cm)")
        _need(_number(sec.get("L")) and sec["L"] > 0, where, "L must be a positive number (um)")
        _need(_numbers(sec.get("cm"), nseg) and all(c >= 0 for c in sec["cm"]), where,
              f"cm must list {nseg} non-negative numbers (one per segment)")
        _need(_numbers(sec.get("diam"), nseg), where, f"diam must list {nseg} numbers (one per segment)")
        _need(all(d > 0 for d in sec["diam"]), where, "diam must be positive (um)")
        pts = sec.get("pt3d", [])
        _need(isinstance(pts, list) and all(_numbers(p, 4) for p in pts), where, "pt3d rows must be [x, y, z, diam]")
        _need(all(p[3] >= 0 for p in pts), where, "pt3d diameters must not be negative")
        _need(len(pts) != 1, where, "pt3d has one point; give at least two, or none (then L and diam define it)")
        parent = sec.get("parent")
        if parent is not None:
            _need(isinstance(parent, str), where, "parent must be a section name or null")
            _need(_number(sec.get("parent_x")) and 0 <= sec["parent_x"] <= 1, where, "parent_x must be in [0, 1]")
        for mech, values in sec.get("mechanisms", {}).items():
            _need(mech in mechanisms or mech in BUILTIN_DENSITY, where,
                  f"mechanism {mech} is neither built in (hh, pas) nor defined under \"mechanisms\"")
            _need(isinstance(values, dict), where, f"{mech} must map parameters to per-segment lists")
            for param, xs in values.items():
                _need(_numbers(xs, nseg), where, f"{mech}.{param} must list {nseg} numbers (one per segment)")
        for ion, values in sec.get("ions", {}).items():
            for var, xs in values.items():
                if var != "style":
                    _need(_numbers(xs, nseg), where, f"ion {ion}: {var} must list {nseg} numbers")
    for sec in sections:
        parent = sec.get("parent")
        _need(parent is None or parent in names, f"{path}: section {sec['name']}", f"parent {parent!r} is not a "
              "section of the model")
    for k, pp in enumerate(doc.get("point_processes", [])):
        where = f"{path}: point process {k}"
        _need(isinstance(pp, dict) and pp.get("section") in names, where,
              f"its section {pp.get('section') if isinstance(pp, dict) else None!r} is not a section of the model")
        _need(_number(pp.get("x")) and 0 <= pp["x"] <= 1, where, "x must be in [0, 1]")
        _need(isinstance(pp.get("params"), dict) and all(_number(v) for v in pp["params"].values()), where,
              "params must map names to numbers")
    for name, value in doc.get("globals", {}).items():
        _need(_number(value), f"{path}: globals.{name}", "must be a number")
    artificial = doc.get("artificial_cells", [])
    _need(isinstance(artificial, list), path, "\"artificial_cells\" must be a list")
    for k, art in enumerate(artificial):
        where = f"{path}: artificial cell {k}"
        _need(isinstance(art, dict) and art.get("mechanism") == "NetStim", where,
              "only NetStim artificial cells are supported")
        params = art.get("params", {})
        _need(isinstance(params, dict) and all(_number(params.get(p)) for p in ("start", "interval", "number",
                                                                                "noise")),
              where, "NetStim params must give start, interval, number and noise as numbers")
    points = doc.get("point_processes", [])
    netcons = doc.get("netcons", [])
    _need(isinstance(netcons, list), path, "\"netcons\" must be a list")
    for k, nc in enumerate(netcons):
        where = f"{path}: netcon {k}" + (f" ({nc['name']})" if isinstance(nc, dict) and "name" in nc else "")
        _need(isinstance(nc, dict), where, "must be an object")
        src = nc.get("source")
        if isinstance(src, dict) and "section" in src:
            _need(src["section"] in names, where, f"its source section {src['section']!r} is not a section of the "
                  "model")
            _need(_number(src.get("x")) and 0 <= src["x"] <= 1, where, "source x must be in [0, 1]")
        elif isinstance(src, dict):
            a = src.get("artificial")
            _need(isinstance(a, int) and 0 <= a < len(artificial), where,
                  f"source artificial cell {a!r} does not exist (the model has {len(artificial)})")
        else:
            _need(src is None, where, "source must be {\"section\", \"x\"}, {\"artificial\": k} or null")
        target = nc.get("target")
        _need(target is None or (isinstance(target, int) and 0 <= target < len(points)), where,
              f"target {target!r} is not a point process of the model (0 to {len(points) - 1})")
        _need(_number(nc.get("threshold")), where, "threshold must be a number (mV)")
        _need(_number(nc.get("delay")) and nc["delay"] >= 0, where, "delay must be a non-negative number (ms)")
        weight = nc.get("weight")
        _need(isinstance(weight, list) and all(_number(w) for w in weight), where,
              "weight must be a list of numbers (NaN and infinity are not)")


# -- building -----------------------------------------------------------------------------------------------


_TYPES = {"soma": 1, "axon": 2, "dend": 3, "apic": 4}


def build_model(doc: dict, path: str = "<model>") -> Model:
    """The :class:`Model` of a model document (checked first).

    Raises:
        ModelError: see :func:`load_model`.
    """
    from neurax.mechanisms import HH, Pas, synapses
    from neurax.nmodl.errors import NmodlError
    from neurax.nmodl.mechanism import build
    from neurax.nmodl.model import analyze
    from neurax.nmodl.parser import parse
    from neurax.stimuli import IClamp

    check_document(doc, path)
    globals_ = doc.get("globals", {})
    network = bool(doc.get("netcons") or doc.get("artificial_cells"))
    classes: dict = {"hh": HH, "pas": Pas, "ExpSyn": synapses.ExpSyn, "Exp2Syn": synapses.Exp2Syn}
    for name, mech in sorted(doc.get("mechanisms", {}).items(), key=lambda kv: kv[1]["order"]):
        try:
            module = parse(mech["source"], f"{path}:{name}.mod")
            cls = build(analyze(module), mech["order"], mech["source"])
            fixed = {g: float(globals_[f"{g}_{name}"]) for g in cls.fixed if _number(globals_.get(f"{g}_{name}"))}
            if any(value != cls.fixed[g] for g, value in fixed.items()):  # the script changed a loop bound
                cls = build(analyze(module, fixed), mech["order"], mech["source"])
        except NmodlError as err:
            raise ModelError(str(err)) from None
        _need(cls.name == name, path, f"mechanism {name}'s source defines {cls.name}")
        if globals_.get(f"usetable_{name}", 1.0) == 0.0:
            cls = type(cls.__name__, (cls,), {"usetable": False, "__module__": cls.__module__})
        classes[name] = cls
    sections = doc["sections"]
    by_name = {sec["name"]: k for k, sec in enumerate(sections)}
    root_of = {}
    for sec in sections:
        chain, name = [], sec["name"]
        while name is not None and name not in root_of:
            chain.append(name)
            if len(chain) > len(sections):
                raise ModelError(f"{path}: section {sec['name']}: its parents form a loop")
            name = sections[by_name[name]]["parent"]
        root = root_of[name] if name is not None else chain[-1]
        for c in chain:
            root_of[c] = root
    trees: dict[str, list[int]] = {}
    for k, sec in enumerate(sections):
        trees.setdefault(root_of[sec["name"]], []).append(k)

    known = {"usetable_hh"} | {f"{g}_{name}" for name, cls in classes.items() for g in (*cls.global_params,
                                                                                          *cls.fixed)}
    known |= {f"usetable_{name}" for name in classes}
    for name in globals_:
        ion = name.rsplit("_", 2)
        _need(name in known or (len(ion) == 3 and ion[2] == "ion" and ion[0] in (f"{ion[1]}i0", f"{ion[1]}o0")),
              f"{path}: globals.{name}", "is not a GLOBAL of the model's mechanisms (RANGE parameters go in each "
              f"section's \"mechanisms\"){_near(name, sorted(known), 0.8)}")
    try:
        if network:  # one forest of every cell's sections, simulated together
            trees = {"all": list(range(len(sections)))}
        cells = [_cell(sections, members, classes, globals_, path) for members in trees.values()]
    except ModelError:
        raise
    except NeuraxError as err:  # a value the cell refuses (a negative conductance, ...): say which file
        raise ModelError(f"{path}: {err}") from None
    stimuli: list[list] = [[] for _ in cells]
    settings = dict(doc["settings"])
    settings["rates"] = "exact" if globals_.get("usetable_hh", 1.0) == 0.0 else "table"
    model = Model(path=path, document=doc, cells=tuple(cells), stimuli=(), settings=settings, mechanisms=classes)
    cells = list(cells)
    # point processes, placed per cell and mechanism in the file's order (their instance numbers)
    groups: dict = {}
    instance_of: dict[int, tuple] = {}
    for j, pp in enumerate(doc.get("point_processes", [])):
        location = f"{pp['section']}({pp['x']})"
        k = model.cell_of(location)
        if pp["mechanism"] == "IClamp":
            p = pp["params"]
            for param in p:
                _need(param in ("delay", "dur", "amp"), f"{path}: point process {pp['mechanism']}",
                      f"IClamp has no parameter {param!r}{_near(param, ('delay', 'dur', 'amp'))}")
            stimuli[k].append(IClamp(location, p.get("delay", 0.0), p.get("dur", 0.0), p.get("amp", 0.0)))
            continue
        cls = classes.get(pp["mechanism"])
        _need(cls is not None and cls.kind == "point", f"{path}: point process {pp['mechanism']}",
              "is neither IClamp, ExpSyn, Exp2Syn nor a POINT_PROCESS of the model's mechanisms")
        for param in pp["params"]:
            _need(param in cls.parameter_names(), f"{path}: point process {pp['mechanism']}",
                  f"{pp['mechanism']} has no parameter {param!r}{_near(param, cls.parameter_names())}")
        try:
            node = cells[k].tree.node_of(location)
        except NeuraxError as err:
            raise ModelError(f"{path}: point process {pp['mechanism']} at {location}: {err}") from None
        members = groups.setdefault((k, cls), [])
        instance_of[j] = (cls, len(members))
        members.append((node, {**cls().parameters(), **pp["params"]}))
    from neurax.network import Network

    first: dict = {}
    for (k, cls), members in groups.items():
        nodes = np.array([node for node, _ in members], np.int64)
        values = {name: np.array([v[name] for _, v in members], float) for name in cls.parameter_names()}
        try:
            cells[k], first[cls] = cells[k].place_at(cls(), nodes, values)
        except NeuraxError as err:
            raise ModelError(f"{path}: point processes {cls.name}: {err}") from None
    model.cells = tuple(cells)
    model.stimuli = tuple(tuple(s) for s in stimuli)
    if network:
        model.network = _network(doc, path, Network([cells[0]], names=[""]),
                                 {j: (cls, first[cls] + i) for j, (cls, i) in instance_of.items()})
    return model


def _network(doc: dict, path: str, net, instance_of: dict):
    """The network of a model's NetCons and NetStims (``instance_of``: point process index -> (class,
    instance)).
    """
    from neurax.network import NetStim, _check_receiver

    points = doc.get("point_processes", [])
    try:
        stims = [NetStim(**{k: float(v) for k, v in art["params"].items()
                            if k in ("start", "interval", "number", "noise")})
                 for art in doc.get("artificial_cells", [])]
    except NeuraxError as err:
        raise ModelError(f"{path}: artificial cell: {err}") from None
    net, first_stim = net._with_stims(stims)
    watched, membrane, artificial = [], [], []
    for k, nc in enumerate(doc.get("netcons", [])):
        where = f"{path}: netcon {k}" + (f" ({nc['name']})" if "name" in nc else "")
        src, target = nc.get("source"), nc.get("target")
        if target is None:
            if isinstance(src, dict) and "section" in src:  # a spike recorder
                watched.append((f"{src['section']}({src['x']})", float(nc["threshold"])))
            continue
        _need(src is not None, where, "has no source: its events come from nc.event() calls in the script, which a "
              "model file cannot carry; drive the synapse with a NetStim (or give the times to nx.SpikeTrain)")
        _need(target in instance_of, where, f"its target, point process {target} "
              f"({points[target]['mechanism']}), cannot receive events")
        cls, instance = instance_of[target]
        try:
            _check_receiver(cls)
        except NeuraxError as err:
            raise ModelError(f"{where}: {err}") from None
        entry = (cls, instance, nc["weight"], float(nc["delay"]), where)
        if "section" in src:
            membrane.append((f"{src['section']}({src['x']})", float(nc["threshold"]), entry))
        else:
            artificial.append((first_stim + src["artificial"], entry))
    try:
        if watched:
            net, _ = net._sources(np.zeros(len(watched), np.int64), [w[0] for w in watched],
                                  np.array([w[1] for w in watched]))
        parts = []
        if membrane:
            net, src = net._sources(np.zeros(len(membrane), np.int64), [m[0] for m in membrane],
                                    np.array([m[1] for m in membrane]))
            parts.append((0, src, [m[2] for m in membrane]))
        if artificial:
            parts.append((1, np.array([a[0] for a in artificial], np.int64), [a[1] for a in artificial]))
        for kind, src, entries in parts:
            for cls in dict.fromkeys(e[0] for e in entries):
                sel = [j for j, e in enumerate(entries) if e[0] is cls]
                width = len(cls.receive_args)
                w = np.zeros((len(sel), width))
                for row, j in enumerate(sel):
                    weights = entries[j][2][:width]
                    w[row, : len(weights)] = weights
                net = net._append(np.full(len(sel), kind, np.int8), src[sel], cls,
                                  np.array([entries[j][1] for j in sel], np.int64), w,
                                  np.array([entries[j][3] for j in sel]))
    except NeuraxError as err:
        raise ModelError(f"{path}: netcons: {err}") from None
    return net


def _cell(sections: list, members: list[int], classes: dict, globals_: dict, path: str):
    """The :class:`~neurax.cell.Cell` of one tree of sections (``members``: their indices in ``sections``)."""
    from neurax.cell import Cell
    from neurax.mechanisms.ions import ion_variables, style_of
    from neurax.morphology import Morphology, Section

    index = {sections[k]["name"]: i for i, k in enumerate(members)}
    secs = []
    for i, k in enumerate(members):
        sec = sections[k]
        base = sec["name"].rsplit(".", 1)[-1].split("[", 1)[0]
        if sec["pt3d"]:
            points, length = np.asarray(sec["pt3d"], dtype=float), None
        else:
            diam = sec["diam"]
            _need(max(diam) == min(diam), f"{path}: section {sec['name']}", "a section without 3-D points must "
                  "have one diameter (per-segment diameters of L/diam sections are not supported)")
            points = np.array([[0.0, 0.0, 0.0, diam[0]], [sec["L"], 0.0, 0.0, diam[0]]])
            length = float(sec["L"])
        points.setflags(write=False)
        parent = None if sec["parent"] is None else index[sec["parent"]]
        secs.append(Section(index=i, name=sec["name"], type=_TYPES.get(base, 5), parent=parent,
                            parent_x=sec["parent_x"], points=points, length=length))
    morph = Morphology(secs, source=path)
    names = [s.name for s in secs]
    cell = Cell(morph, 1, Ra={n: sections[k]["Ra"] for n, k in zip(names, members, strict=True)},
                nseg_overrides={n: sections[k]["nseg"] for n, k in zip(names, members, strict=True)})
    tree = cell.tree
    seg_nodes = [tree.seg_node[tree.seg_offsets[i]:tree.seg_offsets[i + 1]] for i in range(len(members))]

    def per_node(values_of, sec_ids):
        """Per-node values (sorted by node) from per-segment lists of the given sections."""
        nodes = np.concatenate([seg_nodes[i] for i in sec_ids])
        values = np.concatenate([np.asarray(values_of(i), dtype=float) for i in sec_ids])
        order = np.argsort(nodes)
        return [names[i] for i in sec_ids], values[order]

    region, cm = per_node(lambda i: sections[members[i]]["cm"], range(len(members)))
    cell = cell.set("cm", cm, on=region)
    mech_sections: dict[str, list[int]] = {}
    for i, k in enumerate(members):
        for mech in sections[k]["mechanisms"]:
            mech_sections.setdefault(mech, []).append(i)
    for mech, sec_ids in sorted(mech_sections.items(), key=lambda kv: classes[kv[0]].order):
        cls = classes[mech]
        for i in sec_ids:
            for param in sections[members[i]]["mechanisms"][mech]:
                _need(param in cls.parameter_names(), f"{path}: section {names[i]}",
                      f"{mech} has no parameter {param!r}{_near(param, cls.parameter_names())}")
        cell = cell.insert(cls(), on=[names[i] for i in sec_ids])
        for param in cls.parameter_names():
            present = [i for i in sec_ids if param in sections[members[i]]["mechanisms"][mech]]
            if not present:
                continue
            region, values = per_node(lambda i, m=mech, p=param: sections[members[i]]["mechanisms"][m][p],
                                      present)
            cell = cell.set(f"{mech}.{param}", values, on=region)
        for g in cls.global_params:
            if f"{g}_{mech}" in globals_:
                cell = cell.set(f"{g}_{mech}", globals_[f"{g}_{mech}"])
    for ion in cell._structure.ions:
        with_ion = [i for i, k in enumerate(members) if ion in sections[k]["ions"]]
        names_ion = ion_variables(ion)
        for var in (names_ion["e"], names_ion["i"], names_ion["o"]):
            region, values = per_node(lambda i, v=var, ion=ion: sections[members[i]]["ions"][ion][v], with_ion)
            cell = cell.set(var, values, on=region)
        for conc in ("i", "o"):
            key = f"{ion}{conc}0_{ion}_ion"
            if key in globals_:
                cell = cell.set(key, globals_[key])
        for i in with_ion:  # an explicit ion_style() call is not carried over: refuse rather than differ
            sec = sections[members[i]]
            style = sec["ions"][ion].get("style")
            uses = [(u.read, u.write) for m in sec["mechanisms"] for u in classes[m].ions if u.ion == ion]
            mine = style_of(uses, ion).code
            if style is not None and (int(style) & 0o177) != mine:
                raise ModelError(f"{path}: section {sec['name']}: ion {ion} has ion_style {int(style)}, not the "
                                 f"style {mine} its mechanisms give; explicit ion_style() settings are not "
                                 "supported")
    return cell


def geometry_error(model: Model) -> float:
    """The largest relative difference between neurax's segment area and ri and NEURON's (from the file)."""
    worst = 0.0
    by_name = {sec["name"]: sec for sec in model.document["sections"]}
    for cell in model.cells:
        tree = cell.tree
        for i, sec in enumerate(cell.morphology):
            lo, hi = tree.seg_offsets[i], tree.seg_offsets[i + 1]
            for mine, theirs in ((tree.seg_area[lo:hi], by_name[sec.name]["area"]),
                                 (tree.seg_ri[lo:hi], by_name[sec.name]["ri"])):
                theirs = np.asarray(theirs)
                scale = np.maximum(np.abs(theirs), 1e-300)
                worst = max(worst, float(np.max(np.abs(mine - theirs) / scale)))
    return worst
