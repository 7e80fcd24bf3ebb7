"""Generate NEURON references for synapses and networks: event-driven input onto one cell, a ring of ten cells and
two cells coupled by graded synapses.

Three references are written to ``tests/reference_neuron/network/``:

* ``synapses_one_cell.npz`` -- one hh ball-and-stick cell with four synapses (two ``ExpSyn``, two ``Exp2Syn``, one
  of them with tau1 = tau2 so that Exp2Syn's tau1/tau2 > 0.9999 clamp acts) driven by two lists of given spike
  times (VecStim sources) through six NetCons; the times are off the dt grid and include a duplicated time, pairs
  closer than one step and deliveries that land exactly half-way between two steps; see :data:`ONE_CELL`.
* ``ring10.npz`` -- ten such cells in a ring: cell i's ``soma[0](0.5)`` voltage (threshold -10 mV) drives an
  ``ExpSyn`` on ``dend[0](0.5)`` of cell (i + 1) % 10 with a delay that is no multiple of dt; one VecStim event
  onto cell 0 starts the activity, which goes round the ring more than twice in 200 ms; see :data:`RING`.
* ``graded_pair.npz`` -- two such cells coupled both ways by ``GradedSyn``, a graded synapse written here
  (:data:`GRADED_SYN_MOD`, compiled by nrnivmodl in a temporary folder): a point process whose POINTER ``vpre``
  is set with ``h.setpointer`` to the other cell's ``soma[0](0.5)`` voltage, with ``g = gmax / (1 + exp(-(vpre -
  vhalf) / slope))`` and ``i = g (v - e)``, no states and no events.  An IClamp makes cell 0 fire repetitively,
  the excitatory synapse onto cell 1's ``dend[0](0.5)`` makes cell 1 fire, and an inhibitory one from cell 1
  onto cell 0's ``dend[0](0.2)`` feeds back; see :data:`GRADED`.  Its meta adds ``iclamps``,
  ``graded_synapses`` (pre/post cell, section, x, gmax, e, vhalf, slope), ``graded_synapse_implementation``
  (with the NMODL text) and ``graded_timing`` (when BREAKPOINT reads vpre, checked on the recorded g); it has no
  ``vecstim_implementation``, no ``synapses`` and no ``netcons`` (its threshold sources only count spikes).

Every reference is made in a fresh NEURON subprocess (``generate_traces.run_worker``) that

* loads the morphology ``data/swc/ball_and_stick.swc`` with Import3d (``generate_traces.load_cell`` for the single
  cell; for the ring and the graded pair a small Python class per cell whose ``__str__`` is ``Cell[i]``, so the
  sections are called ``Cell[i].soma[0]``), sets Ra 100, cm 1 and nseg by the d_lambda rule
  (``generate_traces.discretise``, d_lambda 0.1 at 100 Hz) and inserts hh on every section (default parameters, rate
  tables on);
* creates the synapses, the spike sources and the NetCons, and records ``t``, the listed voltages, every spike
  source (``NetCon.record``) and, for the checks below, every synapse's state (never stored) with
  ``Vector.record`` before ``finitialize``;
* runs the fixed-step method: cvode off, ``secondorder`` 0, celsius 6.3, dt 0.025, ``h.finitialize(-65)`` then
  ``round(tstop / dt)`` calls of ``h.fadvance()`` (``generate_traces.simulate``, never ``h.run()``).

The spike-time lists are played by ``ListedSpikes``, an artificial cell written here (:data:`LISTED_SPIKES_MOD`,
compiled by nrnivmodl in a temporary folder).  It schedules its spikes with exactly the arithmetic of NEURON's
VecStim (``share/examples/nrniv/netcon/vecevent.mod`` in NEURON's source tree, which the NEURON 9.0.2 wheel does
not ship): each firing at ``t`` asks for the next at ``net_send(t_next - t)``, which nocmodl turns into the
absolute time ``t + t_next - t``.  ``--vecevent PATH`` runs NEURON's own VecStim from that file instead; with
``--check`` this confirms that both give the same spike-driven references (only ``meta["vecstim_implementation"]``
differs).

Each ``.npz`` holds ``t`` (n_steps + 1,) and ``v`` (n_record, n_steps + 1), float64, and ``meta``, a JSON string
that describes the network completely (a test rebuilds it from the meta alone): the settings, every cell (the
morphology file, Ra, cm, the nseg rule and the nseg NEURON chose for every section by name, the mechanisms with
the parameter values NEURON held per section list), every synapse (mechanism, cell, section, x, the segment
centre NEURON put it at, its parameters as set and as NEURON held them after ``finitialize``), every source (a
VecStim with its given times, or a cell's voltage at a location with a threshold), every NetCon (source,
synapse, weight, delay, threshold and each event it delivered: emission time, delivery time and the step at
which it took effect), the recordings, the recorded spike times per source and per cell, and
``meta["event_timing"]``, which states (and the worker checks on the data) which times NetCon.record stores and
when an event takes effect:

* a threshold spike (a NetCon watching ``sec(x)._ref_v``) is recorded, and its events sent, at
  ``t[k] + 1e-10`` (double addition), where ``t[k]`` is the stored ``h.t`` after the fadvance whose result first
  lies strictly above the threshold (``v[k-1] <= threshold < v[k]``); NEURON tests ``v > threshold`` at the
  start of the next fadvance, without interpolation (``CVode.condition_order`` 1);
* a VecStim spike is recorded at its own event time, not at a grid time: ``e[0] = (0 + T[0]) - 0`` and
  ``e[i] = (e[i-1] + T[i]) - e[i-1]`` in double arithmetic for the given times ``T``; that differs from
  ``T[i]`` in the last bit for some times here (27.7013 is emitted as 27.701300000000003);
* an event for time ``te`` (emission time + NetCon delay, one double addition) takes effect at the start of
  the first fadvance (step k -> k + 1) whose starting ``h.t`` satisfies ``te <= h.t + dt / 2`` in double
  arithmetic, so it first shows in sample ``k + 1``.  Which step takes a delivery half-way between two steps
  therefore depends on the rounding of the half-step-accumulated ``h.t``: here 20.0 + 0.5125 = 20.5125 goes to
  the later step (t[820] + dt/2 = 20.51249999999937) and 48.66250000000001 + 1.0 to the earlier one
  (t[1986] + dt/2 = 49.66250000000273); ``meta["event_timing"]["half_step_ties"]`` lists them.

Usage::

    python tests/reference_neuron/generate_network.py [--out DIR] [--vecevent PATH] [--case NAME ...]
    python tests/reference_neuron/generate_network.py --check [--vecevent PATH] [--case NAME ...]

``--case`` (repeatable) limits either mode to the named references.  ``--check`` regenerates the references in a
temporary folder and compares them with the stored ones: ``t`` and ``v`` bit for bit and the meta key by key; it
exits 1 and lists the differences if any.  From a test call :func:`check_stored` (returns the list of differences,
empty when the stored files are reproduced).  Read a reference with :func:`load_network`.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE.parent.parent) not in sys.path:  # run as a script: make ``tests.reference_neuron`` importable
    sys.path.insert(0, str(HERE.parent.parent))

from tests.reference_neuron.generate_mechanisms import compile_mods  # noqa: E402
from tests.reference_neuron.generate_traces import (  # noqa: E402
    REPO,
    discretise,
    load_cell,
    run_worker,
    save_traces,
    simulate,
    spike_indices,
)

OUT_DIR = HERE / "network"
FORMAT_VERSION = 1
TIMEOUT_S = 600
MORPHOLOGY = "data/swc/ball_and_stick.swc"
#: Fixed-step settings shared by all references.
SETTINGS = {"dt": 0.025, "celsius": 6.3, "v_init": -65.0}
#: Ra, cm and nseg by NEURON's d_lambda rule (generate_traces.discretise), the same for every cell.
DISCRETISATION = {"nseg": None, "d_lambda": 0.1, "Ra": 100.0, "cm": 1.0}
NSEG_RULE = {
    "rule": "d_lambda",
    "d_lambda": 0.1,
    "frequency_hz": 100.0,
    "formula": "nseg = int((L / (d_lambda * lambda_f(frequency)) + 0.9) / 2) * 2 + 1, set after Ra and cm",
}
#: The parameters read back per mechanism (NEURON's names without the suffix).
MECHANISM_PARAMETERS = {"hh": ("gnabar", "gkbar", "gl", "el")}
SYNAPSE_PARAMETERS = {"ExpSyn": ("tau", "e"), "Exp2Syn": ("tau1", "tau2", "e")}
#: Synapse state recorded (not stored) to see when events take effect; it decays with this time constant.
SYNAPSE_STATE = {"ExpSyn": ("g", "tau"), "Exp2Syn": ("B", "tau2")}

#: An artificial cell that fires at the times tk[0], ..., tk[n - 1] (non-decreasing), scheduled like VecStim.
LISTED_SPIKES_MOD = """\
COMMENT
Fires at the times tk[0..n-1] (ms, non-decreasing; at most 64).  Each firing at time t asks for the next one
with net_send(tk[k] - t), which nocmodl writes as the absolute time t + tk[k] - t: the arithmetic NEURON's
VecStim uses.  Written for tests/reference_neuron/generate_network.py.
ENDCOMMENT

NEURON {
    ARTIFICIAL_CELL ListedSpikes
    RANGE n, tk
}

PARAMETER {
    n = 0
}

ASSIGNED {
    tk[64] (ms)
    k
}

INITIAL {
    k = 0
    if (k < n) {
        net_send(tk[0] - t, 1)
    }
}

NET_RECEIVE (w) {
    if (flag == 1) {
        net_event(t)
        k = k + 1
        if (k < n) {
            net_send(tk[k] - t, 1)
        }
    }
}
"""
LISTED_SPIKES_MAX = 64
#: NEURON records (and sends) a threshold spike at h.t + this (its fixed-step threshold check passes 1e-10).
THRESHOLD_TEPS = 1e-10

#: Reference 1.  Synapses: (mechanism, section, x, parameters).  VecStims: name -> spike times (ms), chosen off the
#: dt grid except 20.0 (with the 0.5125 ms delay = 0.0125 + 20 dt it is delivered at 20.5125, half-way between two
#: steps) and 48.6625 (delivered at 49.6625 by the 1.0 ms NetCon: half-way again).  12.34375 is given twice (a
#: binary fraction, so VecStim's arithmetic emits the following 20.0 exactly); 27.7013/27.7101 and
#: 18.1818/18.1901 are delivered within one step.  NetCons: (source, synapse, weight uS, delay ms); the first two
#: both connect A to synapse 0 (delays 0.0123 apart: their events share a step).
ONE_CELL = {
    "name": "synapses_one_cell",
    "tstop": 100.0,
    "synapses": [
        ("ExpSyn", "soma[0]", 0.5, {"tau": 2.0, "e": 0.0}),
        ("ExpSyn", "dend[0]", 0.3, {"tau": 0.7, "e": -70.0}),
        ("Exp2Syn", "dend[0]", 0.8, {"tau1": 0.5, "tau2": 5.0, "e": 0.0}),
        ("Exp2Syn", "soma[0]", 0.5, {"tau1": 2.0, "tau2": 2.0, "e": 0.0}),
    ],
    "vecstims": {
        "A": [5.0031, 12.34375, 12.34375, 20.0, 27.7013, 27.7101, 41.1234, 48.6625, 55.5555, 63.0003, 77.7777, 90.0107],
        "B": [3.3333, 9.8765, 18.1818, 18.1901, 33.0049, 44.4444, 58.0181, 66.6666, 79.9999, 88.0012],
    },
    "netcons": [
        ("A", 0, 0.004, 1.0),
        ("A", 0, 0.003, 1.0123),
        ("A", 2, 0.006, 0.7378),
        ("A", 3, 0.002, 0.5125),
        ("B", 1, 0.005, 2.31),
        ("B", 3, 0.008, 0.4567),
    ],
    "record": ["soma[0](0.5)", "dend[0](0.3)", "dend[0](0.8)", "dend[0](1.0)"],
    "threshold": 0.0,
    "min_spikes": 2,
}

#: A graded (non-spiking) synapse: a conductance set by the presynaptic voltage, read through a POINTER.
GRADED_SYN_MOD = """\
COMMENT
A graded synapse: the conductance g = gmax / (1 + exp(-(vpre - vhalf) / slope)) follows the voltage vpre of a
presynaptic node, read through a POINTER (h.setpointer(pre_seg._ref_v, 'vpre', syn)), and i = g (v - e).  No
states, no events.  Written for tests/reference_neuron/generate_network.py.
ENDCOMMENT

NEURON {
    POINT_PROCESS GradedSyn
    POINTER vpre
    RANGE gmax, e, vhalf, slope, g, i
    NONSPECIFIC_CURRENT i
}

UNITS {
    (nA) = (nanoamp)
    (mV) = (millivolt)
    (uS) = (microsiemens)
}

PARAMETER {
    gmax = 0.01 (uS)
    e = 0 (mV)
    vhalf = -20 (mV)
    slope = 5 (mV)
}

ASSIGNED {
    v (mV)
    vpre (mV)
    g (uS)
    i (nA)
}

BREAKPOINT {
    g = gmax / (1 + exp(-(vpre - vhalf) / slope))
    i = g * (v - e)
}
"""
GRADED_PARAMETERS = ("gmax", "e", "vhalf", "slope")

#: Reference 2.  Cell i drives cell (i + 1) % n with delay delay0 + delay_step * i; the kick is one VecStim event.
#: With weight 0.03 uS every presynaptic spike gives one postsynaptic spike; 0.008 uS still does (a wide margin).
RING = {
    "name": "ring10",
    "tstop": 200.0,
    "n": 10,
    "synapse": ("ExpSyn", "dend[0]", 0.5, {"tau": 2.0, "e": 0.0}),
    "weight": 0.03,
    "delay0": 1.0,
    "delay_step": 0.3717,
    "threshold": -10.0,
    "kick": {"times": [1.0137], "weight": 0.03, "delay": 0.5},
    "min_rounds": 2,
}
#: Reference 3.  Two cells coupled both ways by graded synapses (:data:`GRADED_SYN_MOD`): an IClamp makes cell 0
#: fire repetitively; each of its spikes opens the excitatory synapse onto cell 1 (which fires in turn), whose
#: spikes open the inhibitory one back onto cell 0.  Locations are (section, x) in each cell; the threshold only
#: watches the somata (spike counts, no NetCons).
GRADED = {
    "name": "graded_pair",
    "tstop": 60.0,
    "n": 2,
    "iclamp": {"cell": 0, "section": "soma[0]", "x": 0.5, "delay": 5.0, "dur": 30.0, "amp": 0.5},
    "graded": [
        {"pre_cell": 0, "pre_section": "soma[0]", "pre_x": 0.5, "post_cell": 1, "post_section": "dend[0]",
         "post_x": 0.5, "gmax": 0.01, "e": 0.0, "vhalf": -20.0, "slope": 5.0},
        {"pre_cell": 1, "pre_section": "soma[0]", "pre_x": 0.5, "post_cell": 0, "post_section": "dend[0]",
         "post_x": 0.2, "gmax": 0.002, "e": -80.0, "vhalf": -30.0, "slope": 4.0},
    ],
    "record": ["soma[0](0.5)", "dend[0](0.5)"],
    "threshold": -10.0,
    "min_spikes_per_cell": [2, 1],
}
CASES = {c["name"]: c for c in (ONE_CELL, RING, GRADED)}
#: How the cells of the ring and of the graded pair are made.
IMPORT_INTO_OBJECT = ("Import3d_SWC_read, Import3d_GUI(reader, False).instantiate(obj) with a Python object obj "
                      "whose str() is the cell name")


def sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def split_location(text: str) -> tuple[str, float]:
    """``'dend[0](0.3)'`` -> ('dend[0]', 0.3)."""
    sec, x = text[:-1].rsplit("(", 1)
    return sec, float(x)


# ----------------------------------------------------------------------------------------------------------
# Worker side: runs inside the subprocess, talks to NEURON
# ----------------------------------------------------------------------------------------------------------


class Network:
    """The NEURON objects of one reference and what is recorded from them."""

    def __init__(self, h, stim_class: str) -> None:
        self.h = h
        self.stim_class = stim_class
        self.cells: list[dict] = []  # {"name", "sections": [...], "import"}
        self.synapses: list[dict] = []  # {"obj", "mechanism", "cell", "section", "x", "parameters", "state"}
        self.sources: list[dict] = []  # {"kind", ..., "obj", "spikes": Vector, "detector": NetCon}
        self.netcons: list[dict] = []  # {"obj", "source", "synapse", "weight", "delay"}
        self.record: list[tuple[str, object, int]] = []  # (label, segment, cell)
        self.iclamps: list[dict] = []  # {"obj", "cell", "section", "x", "delay", "dur", "amp"}
        self.graded: list[dict] = []  # {"obj", "g": Vector, **one entry of GRADED["graded"]}
        self.keep: list = []  # Vectors and cells that must stay alive

    def add_cell(self, name: str, secs: list, how: str) -> int:
        """Discretise ``secs`` (Ra, cm, d_lambda nseg) and insert hh everywhere; returns the cell index."""
        discretise(self.h, secs, DISCRETISATION)
        for sec in secs:
            sec.insert("hh")
        self.cells.append({"name": name, "sections": secs, "import": how})
        return len(self.cells) - 1

    def section(self, cell: int, local: str):
        """The section of cell ``cell`` called ``local`` (``soma[0]``) inside it."""
        prefix = self.cells[cell]["name"]
        wanted = f"{prefix}.{local}" if prefix else local
        for sec in self.cells[cell]["sections"]:
            if sec.name() == wanted:
                return sec
        raise KeyError(wanted)

    def add_synapse(self, cell: int, mechanism: str, local: str, x: float, params: dict) -> int:
        """A synapse point process with ``params``; its decaying state is recorded for the delivery check."""
        syn = getattr(self.h, mechanism)(self.section(cell, local)(x))
        for key, value in params.items():
            setattr(syn, key, value)
        state, _ = SYNAPSE_STATE[mechanism]
        vec = self.h.Vector()
        vec.record(getattr(syn, f"_ref_{state}"))
        self.synapses.append({"obj": syn, "mechanism": mechanism, "cell": cell, "section": local, "x": x,
                              "parameters": dict(params), "state": vec})
        return len(self.synapses) - 1

    def add_spike_list(self, name: str, times: list[float]) -> int:
        """A VecStim-like source firing at ``times``; its spikes are recorded."""
        h = self.h
        if self.stim_class == "VecStim":
            obj = h.VecStim()
            vec = h.Vector(times)
            obj.play(vec)
            self.keep.append(vec)
        else:
            if len(times) > LISTED_SPIKES_MAX:
                raise ValueError(f"at most {LISTED_SPIKES_MAX} times")
            obj = h.ListedSpikes()
            obj.n = len(times)
            for i, value in enumerate(times):
                obj.tk[i] = value
        detector = h.NetCon(obj, None)
        spikes = h.Vector()
        detector.record(spikes)
        self.sources.append({"kind": "VecStim", "name": name, "times": list(times), "obj": obj,
                             "detector": detector, "spikes": spikes})
        return len(self.sources) - 1

    def add_threshold_source(self, cell: int, local: str, x: float, threshold: float) -> int:
        """The voltage at ``local(x)`` of cell ``cell`` as a spike source; its spikes are recorded."""
        sec = self.section(cell, local)
        detector = self.h.NetCon(sec(x)._ref_v, None, sec=sec)
        detector.threshold = threshold
        spikes = self.h.Vector()
        detector.record(spikes)
        self.sources.append({"kind": "threshold", "cell": cell, "section": local, "x": x, "threshold": threshold,
                             "sec": sec, "detector": detector, "spikes": spikes})
        return len(self.sources) - 1

    def connect(self, source: int, synapse: int, weight: float, delay: float) -> int:
        """A NetCon from source ``source`` onto synapse ``synapse``."""
        src, syn = self.sources[source], self.synapses[synapse]["obj"]
        if src["kind"] == "VecStim":
            nc = self.h.NetCon(src["obj"], syn)
        else:
            sec = src["sec"]
            nc = self.h.NetCon(sec(src["x"])._ref_v, syn, sec=sec)
            nc.threshold = src["threshold"]
        nc.weight[0] = weight
        nc.delay = delay
        self.netcons.append({"obj": nc, "source": source, "synapse": synapse, "weight": weight, "delay": delay})
        return len(self.netcons) - 1

    def add_iclamp(self, cell: int, local: str, x: float, delay: float, dur: float, amp: float) -> None:
        """An IClamp at ``local(x)`` of cell ``cell``."""
        stim = self.h.IClamp(self.section(cell, local)(x))
        stim.delay, stim.dur, stim.amp = delay, dur, amp
        self.iclamps.append({"obj": stim, "cell": cell, "section": local, "x": x, "delay": delay, "dur": dur,
                             "amp": amp})

    def add_graded(self, spec: dict) -> None:
        """A GradedSyn on the postsynaptic location whose vpre points at the presynaptic voltage; its g is recorded
        (not stored) to check when it reads vpre."""
        h = self.h
        syn = h.GradedSyn(self.section(spec["post_cell"], spec["post_section"])(spec["post_x"]))
        for key in GRADED_PARAMETERS:
            setattr(syn, key, spec[key])
        pre = self.section(spec["pre_cell"], spec["pre_section"])(spec["pre_x"])
        h.setpointer(pre._ref_v, "vpre", syn)
        vec = h.Vector()
        vec.record(syn._ref_g)
        self.graded.append({**spec, "obj": syn, "pre_segment": pre, "g": vec})

    def add_record(self, cell: int, location: str) -> None:
        """Record the voltage at ``location`` (``soma[0](0.5)``) of cell ``cell``."""
        local, x = split_location(location)
        sec = self.section(cell, local)
        self.record.append((f"{sec.name()}({x!r})", sec(x), cell))


def build_one_cell(h, net: Network, tmp: Path) -> dict:
    """Reference 1 (:data:`ONE_CELL`) on ``net``; returns the case."""
    c = ONE_CELL
    secs, _ = load_cell(h, REPO / MORPHOLOGY, tmp)
    cell = net.add_cell("", secs, "Import3d_SWC_read, Import3d_GUI(reader, False).instantiate(None)")
    for mechanism, local, x, params in c["synapses"]:
        net.add_synapse(cell, mechanism, local, x, params)
    by_name = {name: net.add_spike_list(name, times) for name, times in c["vecstims"].items()}
    for source, synapse, weight, delay in c["netcons"]:
        net.connect(by_name[source], synapse, weight, delay)
    net.add_threshold_source(cell, "soma[0]", 0.5, c["threshold"])
    for location in c["record"]:
        net.add_record(cell, location)
    return c


class RingCell:
    """One ball-and-stick cell instantiated by Import3d into this object (sections ``Cell[i].soma[0]`` etc.);
    the ring's and the graded pair's cells."""

    def __init__(self, h, index: int) -> None:
        self.index = index
        reader = h.Import3d_SWC_read()
        reader.input(str(REPO / MORPHOLOGY))
        h.Import3d_GUI(reader, False).instantiate(self)

    def __str__(self) -> str:
        return f"Cell[{self.index}]"


def ring_cells(h, net: Network, n: int) -> list:
    """``n`` :class:`RingCell` instances added to ``net`` (Import3d into each object, named ``Cell[i]``)."""
    h.load_file("stdlib.hoc")
    h.load_file("import3d.hoc")
    cells = []
    for i in range(n):
        obj = RingCell(h, i)
        net.keep.append(obj)
        cells.append(net.add_cell(str(obj), list(obj.all), IMPORT_INTO_OBJECT))
    return cells


def build_ring(h, net: Network, tmp: Path) -> dict:
    """Reference 2 (:data:`RING`) on ``net``; returns the case."""
    del tmp
    c = RING
    cells = ring_cells(h, net, c["n"])
    mechanism, local, x, params = c["synapse"]
    synapses = [net.add_synapse(cell, mechanism, local, x, params) for cell in cells]
    somas = [net.add_threshold_source(cell, "soma[0]", 0.5, c["threshold"]) for cell in cells]
    kick = net.add_spike_list("kick", c["kick"]["times"])
    net.connect(kick, synapses[0], c["kick"]["weight"], c["kick"]["delay"])
    for i in range(len(cells)):
        net.connect(somas[i], synapses[(i + 1) % len(cells)], c["weight"], c["delay0"] + c["delay_step"] * i)
    for cell in cells:
        net.add_record(cell, "soma[0](0.5)")
    return c


def build_graded(h, net: Network, tmp: Path) -> dict:
    """Reference 3 (:data:`GRADED`) on ``net``; returns the case."""
    del tmp
    c = GRADED
    cells = ring_cells(h, net, c["n"])
    clamp = c["iclamp"]
    net.add_iclamp(clamp["cell"], clamp["section"], clamp["x"], clamp["delay"], clamp["dur"], clamp["amp"])
    for spec in c["graded"]:
        net.add_graded(spec)
    for cell in cells:
        net.add_threshold_source(cell, "soma[0]", 0.5, c["threshold"])
    for cell in cells:
        for location in c["record"]:
            net.add_record(cell, location)
    return c


def read_uniform(values: list, what: str):
    """The one value of ``values`` (a parameter over a section list); raises if they differ."""
    distinct = sorted(set(values))
    if len(distinct) != 1:
        raise RuntimeError(f"{what} is not uniform: {distinct}")
    return distinct[0]


def describe_cell(h, cell: dict) -> dict:
    """Everything needed to rebuild one cell: morphology, Ra, cm, nseg per section, mechanisms and parameters."""
    sections = []
    for sec in cell["sections"]:
        parent = sec.parentseg()
        sections.append({
            "name": sec.name(),
            "nseg": int(sec.nseg),
            "L": sec.L,
            "n3d": int(sec.n3d()),
            "parent": parent.sec.name() if parent is not None else None,
            "parent_x": parent.x if parent is not None else None,
            "orientation": sec.orientation(),
        })
    segs = [seg for sec in cell["sections"] for seg in sec]
    mechanisms = {
        name: {p: read_uniform([getattr(getattr(seg, name), p) for seg in segs], f"{p}_{name}") for p in params}
        for name, params in MECHANISM_PARAMETERS.items()
    }
    ions = {ion: read_uniform([getattr(seg, ion) for seg in segs], ion) for ion in ("ena", "ek")}
    return {
        "name": cell["name"],
        "morphology": MORPHOLOGY,
        "morphology_sha256": sha256(REPO / MORPHOLOGY),
        "import": cell["import"],
        "Ra": read_uniform([sec.Ra for sec in cell["sections"]], "Ra"),
        "cm": read_uniform([seg.cm for seg in segs], "cm"),
        "nseg_rule": NSEG_RULE,
        "nseg": {sec.name(): int(sec.nseg) for sec in cell["sections"]},
        "sections": sections,
        "mechanisms": {"all": {"hh": mechanisms["hh"], "ions": ions}},
    }


def node_x(seg) -> float:
    """The x of the node whose voltage ``seg`` reads: its segment's centre, or 0 / 1 at a section end."""
    sec = seg.sec
    for x in [s.x for s in sec] + [0.0, 1.0]:
        if sec(x)._ref_v == seg._ref_v:
            return x
    raise RuntimeError(f"no node for {seg}")


def segment_centre(h, obj) -> float:
    """Where NEURON placed a point process: the centre of its segment (get_loc pushes a section)."""
    x = obj.get_loc()
    h.pop_section()
    return x


def vecstim_emission(times: list[float]) -> list[float]:
    """The times a VecStim fires for given ``times``: each is scheduled as ``t + next - t`` from the previous one."""
    out, t = [], 0.0
    for value in times:
        t = (t + value) - t
        out.append(t)
    return out


def first_boundary(te: float, t: np.ndarray, dt: float) -> int | None:
    """The step k whose fadvance (from ``t[k]``) an event for time ``te`` precedes: first k with te <= t[k] + dt/2."""
    hits = np.nonzero(te <= t[:-1] + 0.5 * dt)[0]
    return int(hits[0]) if len(hits) else None


def netcon_events(net: Network, t: np.ndarray, dt: float) -> list[list[list]]:
    """Per NetCon: [emission time, delivery time, step k (the event acts on fadvance k -> k + 1)] per event."""
    out = []
    for nc in net.netcons:
        emitted = list(net.sources[nc["source"]]["spikes"])
        events = []
        for te in emitted:
            tdeliver = te + nc["delay"]
            events.append([te, tdeliver, first_boundary(tdeliver, t, dt)])
        out.append(events)
    return out


def observed_deliveries(net: Network, dt: float) -> list[set[int]]:
    """Per synapse: the steps k after which its state jumped (sample k + 1 is more than the decay of sample k)."""
    out = []
    for i, syn in enumerate(net.synapses):
        _, tau_name = SYNAPSE_STATE[syn["mechanism"]]
        decay = np.exp(-dt / getattr(syn["obj"], tau_name))
        s = np.array(syn["state"])
        jump = s[1:] - s[:-1] * decay
        smallest = min(nc["weight"] for nc in net.netcons if nc["synapse"] == i)
        out.append({int(k) for k in np.nonzero(jump > 0.25 * smallest)[0]})
    return out


def event_timing(net: Network, t: np.ndarray, v: np.ndarray, events: list, dt: float) -> dict:
    """The rules for recorded spike times and event delivery, each checked on this run's data."""
    problems = []
    # threshold sources: recorded time == t[k] where v[k] first lies above the threshold
    labels = [label for label, _, _ in net.record]
    for src in net.sources:
        if src["kind"] != "threshold":
            continue
        label = f"{src['sec'].name()}({src['x']!r})"
        if label not in labels:
            continue
        row = v[labels.index(label)]
        thr = src["threshold"]
        crossings = np.nonzero((row[:-1] <= thr) & (row[1:] > thr))[0] + 1
        if list(src["spikes"]) != [t[k] + THRESHOLD_TEPS for k in crossings]:
            problems.append(f"{label}: recorded {list(src['spikes'])} but first samples above {thr} at "
                            f"{t[crossings].tolist()} (+ {THRESHOLD_TEPS})")
        if not np.array_equal(crossings, spike_indices(row, thr)):
            problems.append(f"{label}: a sample equals the threshold exactly")
    # VecStim sources: recorded time == (previous + given) - previous
    inexact = []
    for i, src in enumerate(net.sources):
        if src["kind"] != "VecStim":
            continue
        if list(src["spikes"]) != vecstim_emission(src["times"]):
            problems.append(f"VecStim {src['name']}: recorded {list(src['spikes'])}, expected "
                            f"{vecstim_emission(src['times'])}")
        inexact += [{"source": i, "given": g, "emitted": e} for g, e in zip(src["times"], src["spikes"], strict=True)
                    if g != e]
    # deliveries: predicted steps (te <= t[k] + dt/2) == steps where the synapse state jumped
    predicted: list[set[int]] = [set() for _ in net.synapses]
    for nc, evs in zip(net.netcons, events, strict=True):
        predicted[nc["synapse"]].update(k for _, _, k in evs if k is not None)
    observed = observed_deliveries(net, dt)
    for i, (p, o) in enumerate(zip(predicted, observed, strict=True)):
        if p != o:
            problems.append(f"synapse {i}: events predicted at steps {sorted(p - o)} not seen, seen at "
                            f"{sorted(o - p)} not predicted")
    ties = []
    for j, evs in enumerate(events):
        for te, tdeliver, k in evs:
            m = tdeliver / dt - 0.5
            if k is None or abs(m - round(m)) > 1e-6:
                continue
            lower = round(m)  # the grid point below the exact midpoint
            ties.append({
                "netcon": j, "emitted": te, "delivery_time": tdeliver, "step": k,
                "exact_midpoint_between_steps": [lower, lower + 1],
                "t_step_plus_half_dt": t[lower] + 0.5 * dt,
                "taken_by": "earlier step" if k == lower else "later step" if k == lower + 1 else "neither",
            })
    return {
        "threshold_spike_time": (
            "NetCon.record of a voltage source stores t[k] + 1e-10 (one double addition), where t[k] is the "
            "stored h.t after the fadvance whose result first lies strictly above the threshold "
            "(v[k-1] <= threshold < v[k]); NEURON tests v - threshold > 0 at the start of the next fadvance "
            "without interpolation (condition_order 1) and sends its events from that same time, so they are "
            "delivered at (t[k] + 1e-10) + delay"
        ),
        "threshold_time_offset": THRESHOLD_TEPS,
        "vecstim_spike_time": (
            "NetCon.record of a VecStim stores the VecStim's own event time, not a grid time: e[0] = (0 + T[0]) - 0, "
            "e[i] = (e[i-1] + T[i]) - e[i-1] in double arithmetic (T = the given times), which can differ from "
            "T[i] in the last bits (vecstim_inexact_emissions lists where); its events are delivered at "
            "e[i] + delay"
        ),
        "vecstim_inexact_emissions": inexact,
        "delivery_rule": (
            "an event for time te = emission time + delay (one double addition) acts at the start of the first "
            "fadvance k -> k+1 with te <= t[k] + 0.5 * dt (double arithmetic on NEURON's half-step-accumulated "
            "h.t = the stored t[k]); it first shows in sample k+1; several events at one step add up; "
            "netcons[i]['events'] lists [emission, te, k] for every event"
        ),
        "half_step_ties": ties,
        "rules_hold": not problems,
        "problems": problems,
    }


def graded_timing(net: Network, v: np.ndarray) -> dict:
    """When a graded synapse reads vpre, checked on the recorded g: finitialize sets g from the presynaptic voltage
    of sample 0, the fadvance from sample k to k + 1 from that of sample k."""
    labels = [label for label, _, _ in net.record]
    problems, deviations = [], []
    for i, syn in enumerate(net.graded):
        pre = syn["pre_segment"]
        label = f"{pre.sec.name()}({pre.x!r})"
        if label not in labels:
            problems.append(f"graded synapse {i}: its presynaptic location {label} is not recorded")
            continue
        vpre = v[labels.index(label)]
        g = np.array(syn["g"])
        expected = syn["gmax"] / (1.0 + np.exp(-(vpre - syn["vhalf"]) / syn["slope"]))
        deviation = float(max(abs(g[0] - expected[0]), np.max(np.abs(g[1:] - expected[:-1]))))
        deviations.append({"synapse": i, "g_after_finitialize": float(g[0]),
                           "max_abs_g_deviation_uS": deviation, "max_g_uS": float(np.max(g))})
        if deviation > 1e-12 * syn["gmax"]:
            problems.append(f"graded synapse {i}: g[0] or g[k + 1] differs from g(vpre[0]) or g(vpre[k]) by up to "
                            f"{deviation} uS")
    return {
        "rule": (
            "BREAKPOINT runs once per fadvance, when the currents are computed at the start of the step: "
            "the fadvance from sample k to k + 1 uses g = gmax / (1 + exp(-(vpre[k] - vhalf) / slope)) with vpre[k] "
            "the presynaptic node's voltage of sample k, and i = g (v[k] - e) with di/dv = g on the postsynaptic "
            "node's diagonal (NEURON's numerical derivative at v + 0.001; vpre does not change with it), nothing "
            "on the presynaptic node's row: the coupling between the cells is explicit; finitialize evaluates "
            "BREAKPOINT too, so the recorded g[0] is g(vpre[0]) (it adds no current to any step)"
        ),
        "checked": deviations,
        "rules_hold": not problems,
        "problems": problems,
    }


def describe_graded(h, net: Network, v: np.ndarray, implementation: dict) -> dict:
    """The graded pair's own meta: the IClamps, the graded synapses, the NMODL text and the timing check."""
    iclamps = []
    for stim in net.iclamps:
        obj = stim["obj"]
        if (obj.delay, obj.dur, obj.amp) != (stim["delay"], stim["dur"], stim["amp"]):
            raise RuntimeError(f"IClamp holds {obj.delay}, {obj.dur}, {obj.amp}")
        iclamps.append({"cell": stim["cell"], "section": f"{net.cells[stim['cell']]['name']}.{stim['section']}",
                        "x": stim["x"], "segment_x": segment_centre(h, obj), "delay": stim["delay"],
                        "dur": stim["dur"], "amp": stim["amp"]})
    graded = []
    for i, syn in enumerate(net.graded):
        obj = syn["obj"]
        held = {p: getattr(obj, p) for p in GRADED_PARAMETERS}
        if held != {p: syn[p] for p in GRADED_PARAMETERS}:
            raise RuntimeError(f"graded synapse {i}: NEURON holds {held}")
        graded.append({
            "index": i, "mechanism": "GradedSyn",
            "pre_cell": syn["pre_cell"], "pre_section": f"{net.cells[syn['pre_cell']]['name']}.{syn['pre_section']}",
            "pre_x": syn["pre_x"], "pre_node_x": node_x(syn["pre_segment"]),
            "post_cell": syn["post_cell"],
            "post_section": f"{net.cells[syn['post_cell']]['name']}.{syn['post_section']}",
            "post_x": syn["post_x"], "post_segment_x": segment_centre(h, obj),
            **{p: syn[p] for p in GRADED_PARAMETERS},
        })
    return {
        "graded_synapse_implementation": implementation,
        "iclamps": iclamps,
        "graded_synapses": graded,
        "graded_timing": graded_timing(net, v),
    }


def describe(h, net: Network, c: dict, t: np.ndarray, v: np.ndarray, spec: dict) -> dict:
    """The JSON meta data of a finished run."""
    import neuron

    dt = SETTINGS["dt"]
    events = netcon_events(net, t, dt)
    synapses = []
    for i, syn in enumerate(net.synapses):
        obj = syn["obj"]
        cell_name = net.cells[syn["cell"]]["name"]
        synapses.append({
            "index": i, "mechanism": syn["mechanism"], "cell": syn["cell"],
            "section": f"{cell_name}.{syn['section']}" if cell_name else syn["section"],
            "x": syn["x"], "segment_x": segment_centre(h, obj), "parameters": syn["parameters"],
            "parameters_after_finitialize": {p: getattr(obj, p) for p in SYNAPSE_PARAMETERS[syn["mechanism"]]},
        })
    sources = []
    for i, src in enumerate(net.sources):
        entry = {"index": i, "kind": src["kind"]}
        if src["kind"] == "VecStim":
            entry.update(name=src["name"], times=src["times"])
        else:
            entry.update(cell=src["cell"], section=src["sec"].name(), x=src["x"], threshold=src["threshold"],
                         condition_order=int(h.CVode().condition_order()))
        entry["spike_times"] = list(src["spikes"])
        sources.append(entry)
    netcons = []
    for i, nc in enumerate(net.netcons):
        obj, src = nc["obj"], net.sources[nc["source"]]
        if obj.weight[0] != nc["weight"] or obj.delay != nc["delay"]:
            raise RuntimeError(f"NetCon {i}: NEURON holds weight {obj.weight[0]}, delay {obj.delay}")
        netcons.append({
            "index": i, "source": nc["source"], "synapse": nc["synapse"], "weight": nc["weight"],
            "delay": nc["delay"], "threshold": obj.threshold if src["kind"] == "threshold" else None,
            "events": events[i],
        })
    per_cell = [[] for _ in net.cells]  # threshold spikes at each cell's soma[0](0.5)
    for src in net.sources:
        if src["kind"] == "threshold" and src["section"] == "soma[0]" and src["x"] == 0.5:
            per_cell[src["cell"]] = list(src["spikes"])
    cells = [describe_cell(h, cell) for cell in net.cells]
    meta = {
        "format_version": FORMAT_VERSION,
        "name": c["name"],
        "generator": "tests/reference_neuron/generate_network.py",
        "neuron_version": neuron.__version__,
        "vecstim_implementation": spec["implementation"],
        "simulation": {
            "method": "fixed step: h.finitialize(v_init), then round(tstop / dt) calls of h.fadvance()",
            "tstop": c["tstop"], "dt": h.dt, "n_steps": len(t) - 1, "celsius": h.celsius,
            "v_init": SETTINGS["v_init"], "cvode_active": int(h.CVode().active()), "secondorder": int(h.secondorder),
            "usetable_hh": int(h.usetable_hh), "t": "h.t after finitialize and after every fadvance "
            "(NEURON adds dt/2 twice per step, so t[k] is not exactly k * dt)",
        },
        "cells": cells,
        "synapses": synapses,
        "sources": sources,
        "netcons": netcons,
        "record": [label for label, _, _ in net.record],
        "record_locations": [{"cell": cell, "section": seg.sec.name(), "x": seg.x, "node_x": node_x(seg)}
                             for _, seg, cell in net.record],
        "cell_spike_times": per_cell,
        "cell_spike_counts": [len(times) for times in per_cell],
        "event_timing": event_timing(net, t, v, events, dt),
    }
    if "graded" in c:  # no VecStim here: the compiled mechanism is GradedSyn
        del meta["vecstim_implementation"]
        meta.update(describe_graded(h, net, v, spec["implementation"]))
    return meta


def worker(spec: dict) -> None:
    """Build one reference's network, run it and write the ``.npz``."""
    from neuron import h

    if not h.nrn_load_dll(spec["library"]):
        raise RuntimeError(f"could not load {spec['library']}")
    h.CVode().active(0)
    h.secondorder = 0
    h.celsius = SETTINGS["celsius"]
    net = Network(h, spec["implementation"]["mechanism"])
    build = {"synapses_one_cell": build_one_cell, "ring10": build_ring, "graded_pair": build_graded}[spec["case"]]
    with tempfile.TemporaryDirectory(prefix="neurax_network_") as tmp:
        c = build(h, net, Path(tmp))
    tvec = h.Vector()
    tvec.record(h._ref_t)
    vvecs = []
    for _, seg, _ in net.record:
        vec = h.Vector()
        vec.record(seg._ref_v)
        vvecs.append(vec)
    t_read, v_read, _ = simulate(h, [seg for _, seg, _ in net.record], {**SETTINGS, "tstop": c["tstop"]})
    t = np.array(tvec)
    v = np.array([np.array(vec) for vec in vvecs])
    if not (np.array_equal(t, t_read) and np.array_equal(v, v_read)):
        raise RuntimeError("Vector.record and reading seg.v after every fadvance disagree")
    meta = describe(h, net, c, t, v, spec)
    save_traces(spec["output"], t, v, meta)


# ----------------------------------------------------------------------------------------------------------
# Parent side: compile the spike-list source, one subprocess per reference, checks
# ----------------------------------------------------------------------------------------------------------


def compile_source(folder: Path, vecevent: Path | None) -> tuple[Path, dict]:
    """Compile ListedSpikes (or NEURON's VecStim from ``vecevent``) in ``folder``; returns (library, description)."""
    if vecevent is None:
        mod = folder / "src" / "ListedSpikes.mod"
        mod.parent.mkdir(parents=True)
        mod.write_text(LISTED_SPIKES_MOD)
        implementation = {"mechanism": "ListedSpikes", "mod": "LISTED_SPIKES_MOD in generate_network.py",
                          "sha256": sha256(mod)}
    else:
        mod = Path(vecevent).resolve()
        implementation = {"mechanism": "VecStim", "mod": mod.name, "sha256": sha256(mod)}
    return compile_mods([mod], folder / "lib"), implementation


def compile_graded(folder: Path) -> tuple[Path, dict]:
    """Compile GradedSyn (:data:`GRADED_SYN_MOD`) in ``folder``; returns (library, description with the NMODL)."""
    mod = folder / "src" / "GradedSyn.mod"
    mod.parent.mkdir(parents=True)
    mod.write_text(GRADED_SYN_MOD)
    implementation = {"mechanism": "GradedSyn", "mod": "GRADED_SYN_MOD in generate_network.py", "sha256": sha256(mod),
                      "nmodl": GRADED_SYN_MOD}
    return compile_mods([mod], folder / "lib"), implementation


def problems_of(c: dict, meta: dict) -> list[str]:
    """What is wrong with a finished reference: broken timing rules, too few spikes, a ring that stops."""
    problems = list(meta["event_timing"]["problems"])
    if "graded_timing" in meta:
        problems += meta["graded_timing"]["problems"]
    counts = meta["cell_spike_counts"]
    for i, least in enumerate(c.get("min_spikes_per_cell", [])):
        if counts[i] < least:
            problems.append(f"{meta['cells'][i]['name']} fired {counts[i]} spikes, fewer than {least}")
    if "min_spikes" in c and counts[0] < c["min_spikes"]:
        problems.append(f"the cell fired {counts[0]} spikes, fewer than {c['min_spikes']}")
    if "min_rounds" in c and min(counts) < c["min_rounds"]:
        problems.append(f"spike counts {counts}: the activity did not go round the ring {c['min_rounds']} times")
    if "min_rounds" in c:
        order = sorted((s, i) for i, times in enumerate(meta["cell_spike_times"]) for s in times)
        cells = [i for _, i in order]
        if cells != [k % c["n"] for k in range(len(cells))]:
            problems.append(f"the spikes do not go round the ring in order: cells {cells}")
    return problems


def generate(out_dir: Path, vecevent: Path | None = None, jobs: int = 2, cases: list[str] | None = None) -> list[dict]:
    """Make the references ``cases`` (default: all) in ``out_dir``; returns one summary per reference."""
    cases = list(CASES) if cases is None else list(cases)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="neurax_nrnivmodl_") as tmp:
        compiled = {}
        if any("graded" not in CASES[name] for name in cases):
            compiled["spikes"] = compile_source(Path(tmp) / "spikes", vecevent)
        if any("graded" in CASES[name] for name in cases):
            compiled["graded"] = compile_graded(Path(tmp) / "graded")

        def one(name: str) -> dict:
            out = out_dir / f"{name}.npz"
            library, implementation = compiled["graded" if "graded" in CASES[name] else "spikes"]
            spec = {"case": name, "library": str(library), "implementation": implementation, "output": str(out)}
            start = time.monotonic()
            rc, tail = run_worker(spec, __file__, TIMEOUT_S)
            summary = {"name": name, "output": out, "seconds": time.monotonic() - start}
            if rc != 0 or not out.exists():
                summary["error"] = f"worker failed (returncode {rc}): {tail.strip()[-1500:]}"
                return summary
            meta = load_network(out)["meta"]
            summary.update(meta=meta, problems=problems_of(CASES[name], meta), size=out.stat().st_size)
            return summary

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            return list(pool.map(one, cases))


def load_network(path) -> dict:
    """Read a reference (a path, or a name in ``network/``): ``{"t", "v", "meta"}`` plus ``by_record``."""
    path = Path(path)
    if path.suffix != ".npz":
        path = OUT_DIR / f"{path.name}.npz"
    with np.load(path) as z:
        t, v, meta = z["t"], z["v"], json.loads(str(z["meta"]))
    return {"t": t, "v": v, "meta": meta, "by_record": dict(zip(meta["record"], v, strict=True))}


def compare(fresh: Path, stored: Path) -> list[str]:
    """Differences between two references: ``t`` and ``v`` bit for bit, meta key by key (but the VecStim
    implementation)."""
    a, b = load_network(fresh), load_network(stored)
    problems = [f"{stored.name}: {key} differs" for key in ("t", "v")
                if a[key].shape != b[key].shape or a[key].tobytes() != b[key].tobytes()]
    keys = (set(a["meta"]) | set(b["meta"])) - {"vecstim_implementation"}
    problems += [f"{stored.name}: meta[{key!r}] differs" for key in sorted(keys)
                 if a["meta"].get(key) != b["meta"].get(key)]
    return problems


def check_stored(stored_dir: Path = OUT_DIR, vecevent: Path | None = None,
                 cases: list[str] | None = None) -> list[str]:
    """Regenerate the references ``cases`` (default: all) in a temporary folder; the differences from the stored
    ones (empty: identical)."""
    with tempfile.TemporaryDirectory(prefix="neurax_network_check_") as tmp:
        problems = []
        for res in generate(Path(tmp), vecevent, cases=cases):
            if "error" in res:
                problems.append(f"{res['name']}: {res['error']}")
                continue
            problems += compare(res["output"], stored_dir / res["output"].name)
        return problems


def print_summary(res: dict) -> None:
    """One line (and any problems) per reference."""
    if "error" in res:
        print(f"ERROR  {res['name']}: {res['error']}", flush=True)
        return
    m = res["meta"]
    flag = "CHECK " if res["problems"] else "ok    "
    print(f"{flag}{res['name']:20s} spikes {m['cell_spike_counts']}  {res['seconds']:.1f} s  {res['size'] / 1e3:.0f} kB"
          + "".join(f"\n       ! {p}" for p in res["problems"]), flush=True)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder for the .npz references")
    parser.add_argument("--check", action="store_true", help="regenerate and compare with the stored references")
    parser.add_argument("--vecevent", type=Path, help="use NEURON's VecStim compiled from this vecevent.mod")
    parser.add_argument("--case", action="append", choices=list(CASES),
                        help="only this reference (repeat for several; default: all)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    start = time.monotonic()
    if args.check:
        problems = check_stored(args.out, args.vecevent, args.case)
        for p in problems:
            print(f"DIFFERS  {p}")
        print(f"{'stored references reproduced bit for bit' if not problems else 'MISMATCH'}; "
              f"{time.monotonic() - start:.1f} s")
        return 1 if problems else 0
    results = generate(args.out, args.vecevent, cases=args.case)
    for res in results:
        print_summary(res)
    failed = sum(bool(res.get("error") or res.get("problems")) for res in results)
    print(f"{len(results)} references, {failed} with problems, {time.monotonic() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
