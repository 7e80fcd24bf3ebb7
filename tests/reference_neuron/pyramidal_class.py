"""PyramidalCell as a NEURON Python class: the twin of docs/models/PyramidalCell.hoc + pyramidal.hoc.

The same cell, built the way NEURON's Python users write models: a class whose instance Import3d fills with its
sections (``Import3d_GUI.instantiate(self)`` creates ``self.soma``, ``self.dend``, ``self.apic``, ``self.axon``
and ``self.all``), Python lists for the section lists, the same geometry (Ra, cm, the d_lambda rule with
d_lambda 0.05 at 100 Hz), the same channels from neurax's library (neurax/channels) and the same exponential Ih
gradient along the apical tree, computed with the same hoc calls (``distance``) and the same arithmetic, so that
every value is bit for bit the hoc model's. ``str(cell)`` is ``PyramidalCell[0]``, so the sections have the hoc
template's names (``PyramidalCell[0].soma[0]``).

Run as a script (``neurax port tests/reference_neuron/pyramidal_class.py --mod neurax/channels --out MODEL.json``,
or ``nrniv -python`` with the channels compiled) it builds the protocol of pyramidal.hoc: one cell on the bundled
c91662 reconstruction, a somatic IClamp (delay 50 ms, 400 ms, 0.8 nA), celsius 34, v_init -80, dt 0.025,
tstop 500.  Written for neurax (MIT licence).
"""

import math
import os

from neuron import h

h.load_file("stdrun.hoc")
h.load_file("import3d.hoc")

#: The morphology, relative to this file (the hoc model uses the same file).
SWC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "swc", "c91662.swc")


class PyramidalCell:
    """A detailed pyramidal cell (see docs/models/PyramidalCell.hoc for the model and its sources)."""

    _count = 0

    def __init__(self, swc: str) -> None:
        self._id = PyramidalCell._count
        PyramidalCell._count += 1
        reader = h.Import3d_SWC_read()
        reader.input(swc)
        gui = h.Import3d_GUI(reader, False)
        gui.instantiate(self)  # creates self.soma, self.dend, self.apic, self.axon and self.all
        # hoc's forsec "soma" etc.: every section whose name contains the word, in creation order
        self.somatic = [sec for sec in self.all if "soma" in sec.name()]
        self.basal = [sec for sec in self.all if "dend" in sec.name()]
        self.apical = [sec for sec in self.all if "apic" in sec.name()]
        self.axonal = [sec for sec in self.all if "axon" in sec.name()]
        self.geometry()
        self.insert_channels()

    def __str__(self) -> str:
        return f"PyramidalCell[{self._id}]"

    def geometry(self) -> None:
        for sec in self.all:
            sec.Ra = 100
            sec.cm = 1
        for sec in self.basal:
            sec.cm = 2
        for sec in self.apical:
            sec.cm = 2
        # NEURON's d_lambda rule at 100 Hz with d_lambda = 0.05, after Ra and cm are set
        for sec in self.all:
            sec.nseg = int((sec.L / (0.05 * h.lambda_f(100, sec=sec)) + 0.9) / 2) * 2 + 1

    @staticmethod
    def _insert(sec, mechanism: str, **values: float) -> None:
        """``insert MECHANISM`` and ``NAME_MECHANISM = VALUE`` on every segment, as hoc's forsec does."""
        sec.insert(mechanism)
        for name, value in values.items():
            for seg in sec:
                setattr(seg, f"{name}_{mechanism}", value)

    @staticmethod
    def _ions(sec) -> None:
        for seg in sec:
            seg.ek = -85
            seg.ena = 50

    def insert_channels(self) -> None:
        ins = self._insert
        for sec in self.all:
            ins(sec, "pas", g=3e-5, e=-90)
        for sec in self.somatic:
            ins(sec, "NaT", gbar=2.04)
            ins(sec, "Kv3_1", gbar=0.693)
            ins(sec, "KT", gbar=0.0812)
            ins(sec, "KP", gbar=0.00223)
            ins(sec, "SK", gbar=0.0441)
            ins(sec, "BK", gbar=0.005)
            ins(sec, "CaHVA", gbar=0.000994)
            ins(sec, "CaLVA", gbar=0.00343)
            ins(sec, "CaPool", gamma=0.000501, decay=460)
            ins(sec, "Ih", gbar=8e-5)
            self._ions(sec)
        for sec in self.axonal:
            ins(sec, "NaT", gbar=3.137)
            ins(sec, "NaP", gbar=0.00172)
            ins(sec, "Kv3_1", gbar=1.0)
            ins(sec, "KT", gbar=0.0891)
            ins(sec, "KP", gbar=0.973)
            ins(sec, "Kv1", gbar=0.02)
            ins(sec, "SK", gbar=0.0145)
            ins(sec, "CaHVA", gbar=0.000306)
            ins(sec, "CaLVA", gbar=0.0504)
            ins(sec, "CaPool", gamma=0.0195, decay=20)
            self._ions(sec)
        for sec in self.basal:
            ins(sec, "Ih", gbar=8e-5)
        for sec in self.apical:
            ins(sec, "NaT", gbar=0.0213)
            ins(sec, "Kv3_1", gbar=0.000261)
            ins(sec, "Im", gbar=0.000143)
            ins(sec, "SK", gbar=0.0012)
            ins(sec, "CaHVA", gbar=5.55e-5)
            ins(sec, "CaLVA", gbar=0.000187)
            ins(sec, "CaPool", gamma=0.000509, decay=122)
            ins(sec, "Ih")
            self._ions(sec)
        self.set_ih_gradient(0.0002)

    def set_ih_gradient(self, g0: float) -> None:
        """Ih along the apical tree: gbar(d) = g0 (-0.8696 + 2.087 exp(d / 323)), d the path distance (um) from
        the middle of the soma, with hoc's ``distance`` exactly as the template calls it."""
        h.distance(0, 0.5, sec=self.soma[0])
        for sec in self.apical:
            for seg in sec:
                d = h.distance(seg.x, sec=sec)
                seg.gbar_Ih = g0 * (-0.8696 + 2.087 * math.exp(d * 0.0031))


cell = PyramidalCell(SWC)
stim = h.IClamp(cell.soma[0](0.5))
stim.delay = 50
stim.dur = 400
stim.amp = 0.8
h.celsius = 34
h.v_init = -80
h.dt = 0.025
h.tstop = 500
