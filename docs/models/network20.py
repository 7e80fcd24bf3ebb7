"""A network of 20 reconstructed cortical neurons, written as NEURON users write networks (for ``neurax port``).

14 excitatory cells on two Allen Cell Types reconstructions (``Scnn1aCell``: 473845048, a spiny Scnn1a cell;
``Rbp4Cell``: 485574832, a spiny Rbp4 cell; seven of each) and 6 inhibitory ``PvalbCell`` s (469628681, an
aspiny Pvalb cell), each a Python class instance that Import3d fills with its sections, so that NEURON names
them after the cell (``Scnn1aCell[0].soma[0]``, ``PvalbCell[5].dend[12]``). The files are in ``data/swc`` (see
its ATTRIBUTION.md).

Every cell: Ra 100 ohm cm, cm 1 uF/cm2, nseg by the d_lambda rule (d_lambda 0.1 at 100 Hz); hh on the soma
and axon; pas (g 3e-5 S/cm2, e -65 mV) and hh with a quarter of its sodium conductance and no leak of its own
(gl 0) on the dendrites. A NetCon watching soma[0](0.5) with threshold -20 mV records each cell's spikes
(``cell.spike_times``).

Connections are drawn with numpy (seed :data:`SEED`): every ordered pair of distinct cells with probability
:data:`P_CONNECT`, one synapse per connection, the presynaptic soma[0](0.5) voltage as source (threshold
-20 mV), delays uniform in 1..5 ms rounded to 0.1 us (never a multiple of dt / 2). An excitatory connection ends
on its own ExpSyn (tau 2 ms, e 0 mV) on a random dendritic segment, an inhibitory one on its own Exp2Syn
(tau1 0.5 ms, tau2 8 ms, e -80 mV) at soma[0](0.5); weights are 4..8 nS (excitatory) and 5..10 nS
(inhibitory). Each cell is driven by a regular NetStim (noise 0; start 5..20 ms, interval 10..40 ms, 5..20
events) through an ExpSyn at its soma (20 nS), enough to make it spike unless it is refractory or inhibited;
the recurrent connections add spikes (mostly in the Pvalb cells) and take some away.

Settings: celsius 6.3 degC, dt 0.025 ms, tstop 300 ms, v_init -65 mV. The script only builds the network;
``python network20.py --run`` also simulates it in NEURON and prints each cell's spike count. Written for neurax
(MIT licence).
"""

import os
import sys

import numpy as np
from neuron import h

h.load_file("stdrun.hoc")
h.load_file("import3d.hoc")

SWC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "swc")
SEED = 20
N_EXC, N_INH = 14, 6
#: Probability that a cell connects to another.
P_CONNECT = 0.2
#: Synaptic weights (uS) are drawn uniformly from these ranges.
W_EXC = (0.004, 0.008)
W_INH = (0.005, 0.010)
#: The weight (uS) of each cell's drive.
W_DRIVE = 0.02
THRESHOLD = -20.0  # mV
DELAYS = (1.0, 5.0)  # ms


class Cell:
    """One reconstructed cell: its morphology, cable properties, channels and spike recorder."""

    swc = ""
    count = 0

    def __init__(self) -> None:
        cls = type(self)
        self.index = cls.count
        cls.count += 1
        reader = h.Import3d_SWC_read()
        reader.input(os.path.join(SWC, self.swc))
        h.Import3d_GUI(reader, False).instantiate(self)  # self.soma, self.dend, self.axon, (self.apic), self.all
        self.somatic = [sec for sec in self.all if ".soma[" in sec.name()]
        self.axonal = [sec for sec in self.all if ".axon[" in sec.name()]
        self.dendritic = [sec for sec in self.all if ".dend[" in sec.name() or ".apic[" in sec.name()]
        for sec in self.all:
            sec.Ra = 100
            sec.cm = 1
        for sec in self.all:  # the d_lambda rule (0.1 at 100 Hz), after Ra and cm are set
            sec.nseg = int((sec.L / (0.1 * h.lambda_f(100, sec=sec)) + 0.9) / 2) * 2 + 1
        for sec in self.somatic + self.axonal:
            sec.insert("hh")
        for sec in self.dendritic:
            sec.insert("pas")
            sec.insert("hh")
            for seg in sec:
                seg.pas.g = 3e-5
                seg.pas.e = -65
                seg.hh.gnabar = 0.25 * seg.hh.gnabar
                seg.hh.gl = 0  # the dendrites' leak is pas's
        self.spike_times = h.Vector()
        self.spike_detector = h.NetCon(self.soma[0](0.5)._ref_v, None, sec=self.soma[0])
        self.spike_detector.threshold = THRESHOLD
        self.spike_detector.record(self.spike_times)

    def __str__(self) -> str:
        return f"{type(self).__name__}[{self.index}]"


class Scnn1aCell(Cell):
    """Excitatory: Allen Cell Types 473845048 (Scnn1a-Tg3-Cre, spiny; 123 sections)."""

    swc = "Scnn1a_473845048_m.swc"
    count = 0


class Rbp4Cell(Cell):
    """Excitatory: Allen Cell Types 485574832 (Rbp4-Cre, spiny; 99 sections)."""

    swc = "morph_allen_485574832.swc"
    count = 0


class PvalbCell(Cell):
    """Inhibitory: Allen Cell Types 469628681 (Pvalb, aspiny; 42 sections)."""

    swc = "Pvalb_469628681_m.swc"
    count = 0


def delay(rng: np.random.Generator) -> float:
    """A delay (ms) uniform in :data:`DELAYS`, rounded to 4 decimals and never a multiple of dt / 2.

    Not a multiple of dt, so that events arrive between time steps; not an odd multiple of dt / 2 either, where
    NEURON's fixed step (it delivers the events due by t + dt / 2 at the start of the step from t) would decide
    by rounding error.
    """
    while True:
        d = round(float(rng.uniform(*DELAYS)), 4)
        half_steps = d / (h.dt / 2)
        if abs(half_steps - round(half_steps)) > 1e-6:
            return d


def build() -> dict:
    """Create the cells, synapses, NetCons and drives; returns them (they live as long as the dict)."""
    h.celsius = 6.3
    h.dt = 0.025
    h.steps_per_ms = 40
    h.tstop = 300
    h.v_init = -65
    rng = np.random.default_rng(SEED)
    excitatory = [(Scnn1aCell if k % 2 == 0 else Rbp4Cell)() for k in range(N_EXC)]
    inhibitory = [PvalbCell() for _ in range(N_INH)]
    cells = excitatory + inhibitory
    synapses, netcons, connections = [], [], []
    for i, pre in enumerate(cells):
        source = pre.soma[0]
        for j, post in enumerate(cells):
            if i == j or rng.random() >= P_CONNECT:
                continue
            if i < N_EXC:
                segments = [seg for sec in post.dendritic for seg in sec]
                syn = h.ExpSyn(segments[int(rng.integers(len(segments)))])
                syn.tau, syn.e = 2.0, 0.0
                weight = float(rng.uniform(*W_EXC))
            else:
                syn = h.Exp2Syn(post.soma[0](0.5))
                syn.tau1, syn.tau2, syn.e = 0.5, 8.0, -80.0
                weight = float(rng.uniform(*W_INH))
            nc = h.NetCon(source(0.5)._ref_v, syn, sec=source)
            nc.threshold = THRESHOLD
            nc.delay = delay(rng)
            nc.weight[0] = round(weight, 6)
            synapses.append(syn)
            netcons.append(nc)
            connections.append((i, j))
    stims, drives, drive_netcons = [], [], []
    for cell in cells:
        stim = h.NetStim()
        stim.noise = 0
        stim.start = round(float(rng.uniform(5, 20)), 3)
        stim.interval = round(float(rng.uniform(10, 40)), 3)
        stim.number = int(rng.integers(5, 21))
        syn = h.ExpSyn(cell.soma[0](0.5))
        syn.tau, syn.e = 2.0, 0.0
        nc = h.NetCon(stim, syn)
        nc.delay = 1.0
        nc.weight[0] = W_DRIVE
        stims.append(stim)
        drives.append(syn)
        drive_netcons.append(nc)
    return {"cells": cells, "synapses": synapses, "netcons": netcons, "connections": connections, "stims": stims,
            "drives": drives, "drive_netcons": drive_netcons}


network = build()

if __name__ == "__main__" and "--run" in sys.argv[1:]:
    h.finitialize(h.v_init)
    h.continuerun(h.tstop)
    for cell in network["cells"]:
        print(f"{cell}: {len(cell.spike_times)} spikes")
    print(f"{len(network['connections'])} connections, "
          f"{sum(len(c.spike_times) for c in network['cells'])} spikes in {h.tstop:g} ms")
