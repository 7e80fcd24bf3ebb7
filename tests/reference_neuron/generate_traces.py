"""Generate NEURON voltage-trace references for ``neurax simulate``.

Every *case* is a protocol written exactly in the terms of the ``neurax simulate`` command line, so the same case
can be replayed through neurax's CLI and compared trace by trace::

    neurax simulate MORPHOLOGY [--nseg N | --d-lambda F] --Ra R --cm C --mechanism hh|pas --celsius C
                    --v-init MV --dt MS --tstop MS --rates table|exact --iclamp 'SEC(X),DELAY,DUR,AMP' ...
                    --record 'SEC(X)' ...

A case is a dict with those keys (``name``, ``morphology``, ``nseg``, ``d_lambda``, ``Ra``, ``cm``, ``mechanism``,
``celsius``, ``v_init``, ``dt``, ``tstop``, ``rates``, ``iclamp``, ``record``; see :func:`case`) plus three
annotations that the CLI ignores: ``why`` (what the case tests), ``distal`` (the dend/apic section whose x = 1 end
is farthest, by ``h.distance``, from ``soma[0](0.5)``; checked against NEURON on every run) and ``min_spikes``
(hh cases meant to spike repetitively; ``None`` otherwise).  ``morphology`` is relative to the shared morphologies
folder, or to the repository root when it starts with ``data/`` or ``tests/``.

For every case this script starts a fresh Python subprocess (NEURON's global state is not shared between cases;
a crash or a hang costs one case; killed after :data:`TIMEOUT_S`) that does, in this order::

    h.load_file("stdlib.hoc"); h.load_file("import3d.hoc")
    r = h.Import3d_SWC_read()          # .swc   (h.Import3d_Neurolucida3() for .asc; .h5 via h5_to_asc.py)
    r.input(path); h.Import3d_GUI(r, False).instantiate(None)
    sec.Ra = Ra; sec.cm = cm                                   # every section
    sec.nseg = nseg  or  int((L / (d_lambda * h.lambda_f(100, sec=sec)) + .9) / 2) * 2 + 1
    sec.insert(mechanism)                                      # every section (hh alone uses hh's own leak)
    h.celsius = celsius; h.usetable_hh = 1 (table) or 0 (exact)
    stim = h.IClamp(sec(x)); stim.delay, stim.dur, stim.amp = ...
    h.dt = dt; h.finitialize(v_init)
    record seg.v (t = 0); then round(tstop / dt) times: h.fadvance(); record h.t and seg.v

``h.run()`` is never used: the standard run system silently replaces ``dt`` unless ``steps_per_ms = 1 / dt``.

Each case is stored in ``tests/reference_neuron/traces/<name>.npz`` (compressed):

* ``t`` (n_steps + 1,) float64: 0, then ``h.t`` after every step (NEURON accumulates t in half steps, so this is
  not exactly ``k * dt``; see ``meta["time"]``);
* ``v`` (n_record, n_steps + 1) float64: the recorded voltages in the order of ``case["record"]``;
* ``meta``: a JSON string with the case, the NEURON version, the number of sections and compartments (sum of
  nseg; ``nseg`` per section in ``h.allsec()`` order), spike counts and times per recording (upward crossings of
  0 mV: ``v[k-1] < 0 <= v[k]``, time ``t[k]``), the repetitive-spiking check, the landmark sections NEURON found,
  how ``h.t`` relates to ``k * dt`` and the wall times (import, setup, simulation loop including the Python-side
  reads of ``seg.v``).

The IClamp amplitudes of the spiking cases were chosen with ``--tune``: for each case with ``min_spikes`` it runs
the case once per amplitude in :data:`AMPLITUDE_LADDER` (given to every depolarising clamp) and judges the first
recording, ``soma[0](0.5)``, with :func:`spiking_ok` (a step must give at least ``min_spikes`` spikes and keep
firing to the end, i.e. no depolarisation block; a pulse train must give one spike per pulse).  The table holds
:func:`choose_amplitude`'s pick (one rung above the onset of repetitive firing), typed in by hand.  Squid hh does
not fire repetitively to a current step above about 25 degC (one onset spike, then rest, at every amplitude up to
20 nA), so the 34 and 37 degC cases are driven by pulse trains.

Usage::

    python tests/reference_neuron/generate_traces.py [--only SUBSTRING] [--jobs N] [--out DIR]
    python tests/reference_neuron/generate_traces.py --tune [--only SUBSTRING] [--jobs N]
    python tests/reference_neuron/generate_traces.py --list
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
OUT_DIR = HERE / "traces"
MORPHOLOGY_ROOT = Path(os.environ.get("NEURAX_MORPHOLOGIES", "/work/shared/morphologies"))
TIMEOUT_S = 900
FORMAT_VERSION = 1

#: Amplitudes (nA) tried, in this order, by ``--tune``.
AMPLITUDE_LADDER = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0, 15.0, 20.0)

#: The keys of a case that map one to one onto ``neurax simulate`` options.
CLI_KEYS = (
    "morphology",
    "nseg",
    "d_lambda",
    "Ra",
    "cm",
    "mechanism",
    "celsius",
    "v_init",
    "dt",
    "tstop",
    "rates",
    "iclamp",
    "record",
)


# ----------------------------------------------------------------------------------------------------------
# The case table
# ----------------------------------------------------------------------------------------------------------


def case(
    name: str,
    morphology: str,
    why: str,
    *,
    iclamp: list[str],
    record: list[str],
    mechanism: str = "hh",
    nseg: int | None = None,
    d_lambda: float | None = None,
    Ra: float = 35.4,
    cm: float = 1.0,
    celsius: float = 6.3,
    v_init: float = -65.0,
    dt: float = 0.025,
    tstop: float = 100.0,
    rates: str = "table",
    distal: str | None = None,
    min_spikes: int | None = None,
) -> dict:
    """One case; the defaults are NEURON's (nseg 1 when neither ``nseg`` nor ``d_lambda`` is given)."""
    if nseg is not None and d_lambda is not None:
        raise ValueError(f"{name}: give nseg or d_lambda, not both")
    if nseg is None and d_lambda is None:
        nseg = 1
    if mechanism not in ("hh", "pas") or rates not in ("table", "exact"):
        raise ValueError(f"{name}: bad mechanism {mechanism!r} or rates {rates!r}")
    if not 1 <= len(record) <= 5:
        raise ValueError(f"{name}: record 1 to 5 locations")
    return {
        "name": name,
        "morphology": morphology,
        "nseg": nseg,
        "d_lambda": d_lambda,
        "Ra": Ra,
        "cm": cm,
        "mechanism": mechanism,
        "celsius": celsius,
        "v_init": v_init,
        "dt": dt,
        "tstop": tstop,
        "rates": rates,
        "iclamp": list(iclamp),
        "record": list(record),
        "why": why,
        "distal": distal,
        "min_spikes": min_spikes,
    }


def clamp(location: str, delay: float, dur: float, amp: float) -> str:
    """An ``--iclamp`` string ``SEC(X),DELAY,DUR,AMP`` (floats written so that they read back exactly)."""
    return f"{location},{float(delay)!r},{float(dur)!r},{float(amp)!r}"


#: Per morphology: the file, the farthest dend/apic section (x = 1 end, by h.distance from soma[0](0.5)) and, if
#: there is an axon, the axon section whose x = 1 end is farthest.  Both are checked against NEURON on every run.
CELLS = {
    "ball": ("arbor/ball_and_stick.swc", "dend[0]", None),
    "tps": ("morphio/three_point_soma.swc", "dend[0]", "axon[0]"),
    "types": ("morphio/simple-all-types.swc", "dend_9[0]", None),
    "contour": ("nrn/simple.asc", "dend[0]", None),
    "nrm": ("neurom/Neuron.swc", "apic[19]", "axon[20]"),
    "h5": ("morphio/Neuron.h5", "apic[19]", "axon[20]"),
    "c91662": ("nrn/c91662.swc", "apic[43]", "axon[0]"),
    "pyr": ("arbor/pyramidal.swc", "apic[48]", "axon[1]"),
    "a111200": ("nrn/111200A.asc", "apic[51]", "axon[171]"),
    "ca1": ("jaxley/morph_ca1_n120.swc", "apic[25]", None),
    "pvalb": ("allen_bmtk/Pvalb_469628681_m.swc", "dend[29]", "axon[0]"),
    "scnn1a": ("allen_bmtk/Scnn1a_473845048_m.swc", "apic[15]", "axon[2]"),
    "bio": ("neurom/bio_neuron-000.asc", "dend[52]", "axon[418]"),
    "allen": ("jaxley/morph_allen_485574832.swc", "apic[30]", "axon[0]"),
}

SOMA = "soma[0](0.5)"
ROOT0 = "soma[0](0)"


def standard_record(cell: str, extra: str | None = None) -> list[str]:
    """soma[0](0.5), the distal dendrite's (0.5) and (1), the far axon end (else ``extra``), soma[0](0)."""
    _, distal, axon = CELLS[cell]
    fourth = f"{axon}(1)" if axon else extra
    return [SOMA, f"{distal}(0.5)", f"{distal}(1)"] + ([fourth] if fourth else []) + [ROOT0]


def cell_case(name: str, cell: str, why: str, **kwargs) -> dict:
    """A case on one of :data:`CELLS`; ``record`` defaults to :func:`standard_record`."""
    morphology, distal, _ = CELLS[cell]
    kwargs.setdefault("record", standard_record(cell))
    return case(name, morphology, why, distal=distal, **kwargs)


def spiking(
    name: str, cell: str, why: str, amp: float | None = None, *, at: str = SOMA, min_spikes: int = 5, **kwargs
) -> dict:
    """An hh case over 100 ms meant to spike at least ``min_spikes`` times at ``soma[0](0.5)``.

    The stimulus is ``iclamp`` if given, else one step clamp at ``at`` (delay 5, dur 90, ``amp``).
    """
    if "iclamp" not in kwargs:
        kwargs["iclamp"] = [clamp(at, 5.0, 90.0, amp)]
    return cell_case(name, cell, why, mechanism="hh", tstop=100.0, min_spikes=min_spikes, **kwargs)


def pulse_train(
    location: str, amp: float, *, first: float = 5.0, period: float = 20.0, width: float = 2.0, count: int = 5
) -> list[str]:
    """``count`` clamps of ``width`` ms every ``period`` ms from ``first``: one spike each, even where hh cannot
    fire repetitively to a step (above about 25 degC squid hh gives one onset spike and then rests)."""
    return [clamp(location, first + k * period, width, amp) for k in range(count)]


DL = {"d_lambda": 0.1, "Ra": 100.0}  # the d_lambda rule as NEURON users apply it
PAS = {"mechanism": "pas"}

# The amplitudes of cases with min_spikes come from --tune (see the module docstring).
CASES = [
    # --- ball and stick: the smallest real cell --------------------------------------------------------------
    cell_case(
        "ball_pas_nseg1",
        "ball",
        "passive, one compartment per section: axial coupling of two nodes and the zero-area end nodes",
        iclamp=[clamp(SOMA, 5.0, 20.0, 0.1)],
        tstop=50.0,
        **PAS,
    ),
    spiking("ball_hh_dlambda_table", "ball", "hh spike train with the default rate tables, d_lambda 0.1", 0.15, **DL),
    spiking(
        "ball_hh_dlambda_exact",
        "ball",
        "as ball_hh_dlambda_table with exact rates (usetable_hh 0)",
        0.15,
        rates="exact",
        **DL,
    ),
    spiking(
        "ball_hh_dend_end_stim",
        "ball",
        "hh, stimulus at a dendrite's x=1 end (zero-area node), nseg 5",
        0.15,
        at="dend[0](1)",
        nseg=5,
    ),
    cell_case(
        "ball_pas_midpoint_tie",
        "ball",
        "onset exactly at a step midpoint (delay 10.0125 = 400.5 dt): IClamp's del <= t + dt/2 on NEURON's "
        "half-step-accumulated t decides; that t is 10.012499999999966 < 10.0125 at step 401, so the clamp acts "
        "from step 402 (one step later than exact arithmetic)",
        iclamp=[clamp(SOMA, 10.0125, 20.0, 0.2)],
        nseg=3,
        tstop=40.0,
        **PAS,
    ),
    cell_case(
        "ball_pas_midpoint_tie_dt001",
        "ball",
        "as ball_pas_midpoint_tie at dt 0.01 (delay 10.005 = 1000.5 dt, end 20.015 = 2001.5 dt); here the "
        "accumulated mid-step t is 10.005000000000164 >= 10.005, so the clamp acts from step 1001 through 2001",
        iclamp=[clamp(SOMA, 10.005, 10.01, 0.2)],
        nseg=3,
        dt=0.01,
        tstop=30.0,
        **PAS,
    ),
    # --- tiny test cells ----------------------------------------------------------------------------------
    cell_case(
        "tps_pas_root0_stim",
        "tps",
        "3-point (sphere) soma, passive, nseg 3, stimulus at the root's x=0 end soma[0](0)",
        iclamp=[clamp(ROOT0, 2.0, 20.0, 0.02)],
        nseg=3,
        tstop=40.0,
        **PAS,
    ),
    spiking(
        "tps_hh_root0_stim", "tps", "hh spike train driven from the root's x=0 end soma[0](0), nseg 1", 0.05, at=ROOT0
    ),
    cell_case(
        "types_pas_custom_types",
        "types",
        "SWC types 5..19 (dend_5[0]..dend_19[0]) on a 0.2 um soma; negative clamp at dend_9[0](1), nseg 3",
        iclamp=[clamp("dend_9[0](1)", 1.0, 20.0, -0.01)],
        record=[SOMA, "dend_9[0](0.5)", "dend_9[0](1)", "dend_5[0](1)", "dend_19[0](0.5)"],
        nseg=3,
        tstop=40.0,
        **PAS,
    ),
    spiking(
        "types_hh_34_pulses",
        "types",
        "hh at 34 degC on the custom-type cell, d_lambda 0.1, pulse train",
        None,
        iclamp=pulse_train(SOMA, 2.0),
        celsius=34.0,
        record=[SOMA, "dend_9[0](0.5)", "dend_9[0](1)", "dend_5[0](1)", ROOT0],
        **DL,
    ),
    spiking(
        "contour_hh_dt001",
        "contour",
        "ASC contour soma (21-point centroid), hh, nseg 5, dt 0.01",
        0.4,
        nseg=5,
        dt=0.01,
        record=[SOMA, "dend[0](0.5)", "dend[0](1)", ROOT0, "soma[0](1)"],
    ),
    cell_case(
        "contour_pas_vinit",
        "contour",
        "passive relaxation from v_init -60 towards e_pas -70 plus a small step, d_lambda 0.1",
        iclamp=[clamp(SOMA, 20.0, 10.0, 0.5)],
        record=[SOMA, "dend[0](0.5)", "dend[0](1)", ROOT0],
        v_init=-60.0,
        tstop=50.0,
        **PAS,
        **DL,
    ),
    # --- NeuroM / MorphIO synthetic cell (SWC and its H5 twin) -----------------------------------------------
    spiking(
        "nrm_hh_dlambda", "nrm", "3-point (non-sphere) soma of 0.2 um, axon and apical trees, hh, d_lambda", 0.4, **DL
    ),
    cell_case(
        "nrm_pas_negative_distal",
        "nrm",
        "negative clamp at the distal apical dendrite's middle, nseg 3",
        iclamp=[clamp("apic[19](0.5)", 5.0, 30.0, -0.02)],
        nseg=3,
        tstop=50.0,
        **PAS,
    ),
    spiking(
        "h5_hh_exact_nseg3",
        "h5",
        "H5 (via the exact ASC conversion), hh with exact rates, nseg 3",
        0.4,
        rates="exact",
        nseg=3,
    ),
    # --- c91662 (NeuroMorpho, 3-point soma) ---------------------------------------------------------------
    spiking("c91662_hh_dlambda", "c91662", "large real cell, hh tables at 6.3 degC, d_lambda 0.1", 1.0, **DL),
    spiking(
        "c91662_hh_exact_34_pulses",
        "c91662",
        "exact hh rates at 34 degC, nseg 3, pulse train",
        None,
        iclamp=pulse_train(SOMA, 15.0),
        rates="exact",
        celsius=34.0,
        nseg=3,
    ),
    cell_case(
        "c91662_pas_two_clamps",
        "c91662",
        "two simultaneous clamps (soma +, distal dendrite -), passive, d_lambda 0.1",
        iclamp=[clamp(SOMA, 5.0, 30.0, 0.5), clamp("apic[43](0.5)", 10.0, 30.0, -0.2)],
        tstop=60.0,
        **PAS,
        **DL,
    ),
    # --- arbor pyramidal (NeuroMorpho CA1, with axon) -----------------------------------------------------
    spiking("pyr_hh_dlambda", "pyr", "large pyramidal cell with axon, hh, d_lambda 0.1", 1.5, **DL),
    spiking(
        "pyr_hh_distal_stim",
        "pyr",
        "hh driven from the distal apical dendrite apic[48](0.5), nseg 3",
        0.15,
        at="apic[48](0.5)",
        min_spikes=3,
        nseg=3,
    ),
    cell_case(
        "pyr_pas_dt001",
        "pyr",
        "passive, nseg 5, dt 0.01",
        iclamp=[clamp(SOMA, 5.0, 30.0, 0.3)],
        nseg=5,
        dt=0.01,
        tstop=60.0,
        **PAS,
    ),
    # --- 111200A (ASC, two CellBody somata, two separate trees) ----------------------------------------------
    spiking(
        "a111200_hh_dlambda_two_somata",
        "a111200",
        "two somata / two trees: stimulate soma[0], record both",
        0.75,
        record=[SOMA, "soma[1](0.5)", "apic[51](1)", "axon[171](1)", ROOT0],
        **DL,
    ),
    cell_case(
        "a111200_pas_soma1_nseg1",
        "a111200",
        "passive, nseg 1, stimulate the second soma soma[1], record both somata",
        iclamp=[clamp("soma[1](0.5)", 5.0, 30.0, 0.5)],
        record=[SOMA, "soma[1](0.5)", "soma[1](0)", "apic[51](1)", ROOT0],
        tstop=50.0,
        **PAS,
    ),
    # --- CA1 n120 (12-point soma: soma[0] + soma[1] attached at soma[0](0)) --------------------------------
    spiking(
        "ca1_hh_dlambda",
        "ca1",
        "12-point soma in 2 sections, hh, d_lambda 0.1",
        1.5,
        record=[SOMA, "soma[1](0.5)", "apic[25](0.5)", "apic[25](1)", ROOT0],
        **DL,
    ),
    spiking(
        "ca1_hh_root0_exact_34_pulses",
        "ca1",
        "hh pulses into soma[0](0) (where soma[1] attaches), exact rates, 34 degC, nseg 3",
        None,
        iclamp=pulse_train(ROOT0, 20.0, period=10.0, width=1.0, count=9),
        rates="exact",
        celsius=34.0,
        nseg=3,
        record=[SOMA, "soma[1](0.5)", "soma[1](1)", "apic[25](1)", ROOT0],
        min_spikes=9,
    ),
    cell_case(
        "ca1_pas_negative_dt001",
        "ca1",
        "passive hyperpolarising step at the soma, d_lambda 0.1, dt 0.01",
        iclamp=[clamp(SOMA, 5.0, 25.0, -0.5)],
        record=[SOMA, "soma[1](0.5)", "apic[25](0.5)", "apic[25](1)", ROOT0],
        dt=0.01,
        tstop=40.0,
        **PAS,
        **DL,
    ),
    # --- Allen Pvalb (1-point soma, aspiny) ----------------------------------------------------------------
    spiking(
        "pvalb_hh_dlambda_34_pulses",
        "pvalb",
        "1-point soma, hh at 34 degC, d_lambda 0.1, pulse train",
        None,
        iclamp=pulse_train(SOMA, 3.0),
        celsius=34.0,
        **DL,
    ),
    spiking(
        "pvalb_hh_midstep",
        "pvalb",
        "hh, stimulus starting and ending mid-step (delay 5.0123, dur 50.0371)",
        None,
        iclamp=[clamp(SOMA, 5.0123, 50.0371, 0.3)],
        min_spikes=3,
        nseg=5,
    ),
    spiking(
        "pvalb_hh_midstep_exact_dt001",
        "pvalb",
        "as pvalb_hh_midstep at dt 0.01 with exact rates",
        None,
        iclamp=[clamp(SOMA, 5.0123, 50.0371, 0.3)],
        min_spikes=3,
        nseg=5,
        dt=0.01,
        rates="exact",
    ),
    # --- Allen Scnn1a (1-point soma, spiny, apical) ----------------------------------------------------------
    spiking("scnn1a_hh_nseg5", "scnn1a", "1-point soma with apical tree and axon stub, hh, nseg 5", 0.5, nseg=5),
    spiking(
        "scnn1a_hh_exact_dt001", "scnn1a", "hh exact rates, d_lambda 0.1, dt 0.01", 0.5, rates="exact", dt=0.01, **DL
    ),
    cell_case(
        "scnn1a_pas_distal_end_stim",
        "scnn1a",
        "passive, nseg 1, stimulus at the distal apical x=1 end",
        iclamp=[clamp("apic[15](1)", 5.0, 30.0, 0.05)],
        tstop=50.0,
        **PAS,
    ),
    # --- bio_neuron-000 (BBP ASC, contour soma, long axon) ---------------------------------------------------
    spiking("bio_hh_dlambda", "bio", "large ASC cell with contour soma and long axon, hh, d_lambda 0.1", 0.75, **DL),
    cell_case(
        "bio_pas_two_clamps_nseg3",
        "bio",
        "two simultaneous clamps (soma and distal dendrite, both +), passive, nseg 3",
        iclamp=[clamp(SOMA, 5.0, 30.0, 0.3), clamp("dend[52](0.5)", 5.0, 30.0, 0.1)],
        nseg=3,
        tstop=50.0,
        **PAS,
    ),
    # --- Allen 485574832 (via jaxley) ------------------------------------------------------------------------
    spiking(
        "allen_hh_dlambda_37_pulses",
        "allen",
        "hh at 37 degC, d_lambda 0.1, pulse train",
        None,
        iclamp=pulse_train(SOMA, 10.0),
        celsius=37.0,
        **DL,
    ),
    spiking(
        "allen_hh_step_boundary",
        "allen",
        "hh, stimulus delay and end exactly on step boundaries (10.0 = 400 dt, 90.0 = 3600 dt), nseg 3",
        None,
        iclamp=[clamp(SOMA, 10.0, 80.0, 0.4)],
        nseg=3,
    ),
    spiking(
        "allen_hh_two_clamps",
        "allen",
        "hh, two simultaneous clamps: depolarising soma + hyperpolarising distal dendrite end, nseg 3",
        None,
        iclamp=[clamp(SOMA, 5.0, 90.0, 0.4), clamp("apic[30](1)", 20.0, 50.0, -0.1)],
        nseg=3,
    ),
]


def case_by_name() -> dict[str, dict]:
    """The table as name -> case (names are unique)."""
    table = {c["name"]: c for c in CASES}
    if len(table) != len(CASES):
        raise ValueError("duplicate case names")
    return table


def morphology_path(relative: str) -> Path:
    """Absolute path of a case's morphology (repo-relative for ``data/`` and ``tests/``)."""
    if relative.startswith(("data/", "tests/")):
        return REPO / relative
    return MORPHOLOGY_ROOT / relative


def cli_args(c: dict) -> list[str]:
    """The ``neurax simulate`` arguments that replay case ``c`` (without ``--out``)."""
    args = [str(morphology_path(c["morphology"]))]
    args += ["--nseg", str(c["nseg"])] if c["nseg"] is not None else ["--d-lambda", repr(c["d_lambda"])]
    for key in ("Ra", "cm", "mechanism", "celsius", "v_init", "dt", "tstop", "rates"):
        args += ["--" + key.replace("_", "-"), str(c[key])]
    for stim in c["iclamp"]:
        args += ["--iclamp", stim]
    for loc in c["record"]:
        args += ["--record", loc]
    return args


# ----------------------------------------------------------------------------------------------------------
# Analysis helpers (pure numpy; used by the worker and the tests)
# ----------------------------------------------------------------------------------------------------------


def spike_indices(v: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Indices k with ``v[k-1] < threshold <= v[k]`` (upward crossings)."""
    v = np.asarray(v)
    return np.nonzero((v[:-1] < threshold) & (v[1:] >= threshold))[0] + 1


def repetitive(t: np.ndarray, v: np.ndarray, delay: float, dur: float, min_spikes: int) -> bool:
    """True if ``v`` fires at least ``min_spikes`` times and is not depolarisation-blocked.

    Not blocked means: at least one spike in the last third of the stimulus window, and ``v`` repolarises below
    -40 mV somewhere in that last third.
    """
    spikes = t[spike_indices(v)]
    end = delay + dur
    last_third = (t >= end - dur / 3) & (t < end)
    late_spikes = np.count_nonzero((spikes >= end - dur / 3) & (spikes < end))
    return len(spikes) >= min_spikes and late_spikes >= 1 and bool(np.min(v[last_third]) < -40.0)


def spiking_ok(t: np.ndarray, v: np.ndarray, c: dict) -> bool:
    """The spiking criterion of case ``c`` on the soma trace ``v``.

    With one depolarising clamp (a step): :func:`repetitive` over that clamp's window.  With several (a pulse
    train): at least ``min_spikes`` spikes (one per pulse).
    """
    depolarising = [parse_clamp(s) for s in c["iclamp"] if parse_clamp(s)[4] > 0]
    if len(depolarising) == 1:
        _, _, delay, dur, _ = depolarising[0]
        return repetitive(t, v, delay, dur, c["min_spikes"])
    return len(spike_indices(v)) >= c["min_spikes"]


def choose_amplitude(tried: list[dict]) -> float | None:
    """The tuned amplitude: one ladder rung above the smallest that passes (if that one passes too).

    Staying a rung above the onset of repetitive firing keeps the reference away from the threshold, where tiny
    numerical differences could change the number of spikes.
    """
    ok = [r["ok"] for r in tried]
    if True not in ok:
        return None
    first = ok.index(True)
    if first + 1 < len(tried) and ok[first + 1]:
        return tried[first + 1]["amp"]
    return tried[first]["amp"]


def parse_clamp(text: str) -> tuple[str, float, float, float, float]:
    """``'SEC(X),DELAY,DUR,AMP'`` -> (section name, x, delay, dur, amp)."""
    loc, delay, dur, amp = text.rsplit(",", 3)
    sec, x = parse_location(loc)
    return sec, x, float(delay), float(dur), float(amp)


def parse_location(text: str) -> tuple[str, float]:
    """``'dend[3](0.5)'`` -> ('dend[3]', 0.5)."""
    m = re.fullmatch(r"\s*([A-Za-z_][\w.]*(?:\[\d+\])?)\((.+)\)\s*", text)
    if m is None:
        raise ValueError(f"bad location {text!r}: expected SEC(X), e.g. soma[0](0.5)")
    return m.group(1), float(m.group(2))


# ----------------------------------------------------------------------------------------------------------
# Worker side: runs inside the subprocess, talks to NEURON
# ----------------------------------------------------------------------------------------------------------


def load_cell(h, path: Path, tmp: Path) -> tuple[list, dict]:
    """Import ``path`` with Import3d exactly as ``generate_morphology.py`` does; returns (sections, via)."""
    via = None
    fmt = path.suffix.lower()
    if fmt == ".h5":
        sys.path.insert(0, str(HERE))
        from h5_to_asc import h5_to_asc_text

        text = h5_to_asc_text(path)
        via = {
            "kind": "morphio->asc",
            "converter": "tests/reference_neuron/h5_to_asc.py:h5_to_asc_text",
            "asc_sha256": hashlib.sha256(text.encode()).hexdigest(),
        }
        path = tmp / (path.stem + ".asc")
        path.write_text(text)
        fmt = ".asc"
    h.load_file("stdlib.hoc")
    h.load_file("import3d.hoc")
    r = h.Import3d_SWC_read() if fmt == ".swc" else h.Import3d_Neurolucida3()
    r.input(str(path))
    h.Import3d_GUI(r, False).instantiate(None)
    return list(h.allsec()), via


def landmarks(h, secs: list) -> dict:
    """The dend/apic (any non-soma, non-axon) and axon sections whose x = 1 end is farthest from soma[0](0.5)."""
    names = {s.name(): s for s in secs}
    origin = names["soma[0]"](0.5)
    tree = set(names["soma[0]"].wholetree())
    best: dict[str, tuple[str, float] | None] = {"dendrite": None, "axon": None}
    for sec in secs:
        prefix = sec.name().split("[", 1)[0]
        kind = "axon" if prefix == "axon" else None if prefix == "soma" else "dendrite"
        if kind is None or sec not in tree:
            continue
        d = h.distance(origin, sec(1))
        if best[kind] is None or d > best[kind][1]:
            best[kind] = (sec.name(), d)
    return {f"farthest_{k}": list(v) if v else None for k, v in best.items()}


def discretise(h, secs: list, c: dict) -> None:
    """Ra and cm, then nseg: ``c["nseg"]``, or NEURON's d_lambda rule at 100 Hz (which reads Ra and cm)."""
    for sec in secs:
        sec.Ra = c["Ra"]
        sec.cm = c["cm"]
    for sec in secs:
        if c["nseg"] is not None:
            sec.nseg = c["nseg"]
        else:
            sec.nseg = int((sec.L / (c["d_lambda"] * h.lambda_f(100, sec=sec)) + 0.9) / 2) * 2 + 1


def configure(h, secs: list, c: dict) -> list[int]:
    """Ra, cm, nseg (after Ra/cm), the mechanism, celsius and the hh table switch; returns nseg per section."""
    discretise(h, secs, c)
    for sec in secs:
        sec.insert(c["mechanism"])
    h.celsius = c["celsius"]
    h.usetable_hh = 1 if c["rates"] == "table" else 0
    return [int(sec.nseg) for sec in secs]


def make_clamps(h, by_name: dict, c: dict) -> list:
    """One ``h.IClamp`` per ``--iclamp`` string."""
    stims = []
    for text in c["iclamp"]:
        sec, x, delay, dur, amp = parse_clamp(text)
        stim = h.IClamp(by_name[sec](x))
        stim.delay, stim.dur, stim.amp = delay, dur, amp
        stims.append(stim)
    return stims


def simulate(h, segs: list, c: dict) -> tuple[np.ndarray, np.ndarray, float]:
    """finitialize + round(tstop/dt) fadvance calls; returns (t, v, seconds)."""
    n_steps = round(c["tstop"] / c["dt"])
    t = np.zeros(n_steps + 1)
    v = np.zeros((len(segs), n_steps + 1))
    fadvance = h.fadvance
    start = time.perf_counter()
    h.dt = c["dt"]
    h.finitialize(c["v_init"])
    t[0] = h.t
    for j, seg in enumerate(segs):
        v[j, 0] = seg.v
    for k in range(1, n_steps + 1):
        fadvance()
        t[k] = h.t
        for j, seg in enumerate(segs):
            v[j, k] = seg.v
    seconds = time.perf_counter() - start
    if h.dt != c["dt"]:
        raise RuntimeError(f"NEURON changed dt from {c['dt']} to {h.dt}")
    return t, v, seconds


def time_report(t: np.ndarray, dt: float) -> dict:
    """How NEURON's accumulated ``h.t`` compares with ``k * dt`` and with a sum of half steps."""
    k = np.arange(len(t))
    half = np.zeros(len(t))
    acc = 0.0
    for i in range(1, len(t)):
        acc += dt / 2
        acc += dt / 2
        half[i] = acc
    differs = np.nonzero(t != k * dt)[0]
    return {
        "first_step_t_ne_k_dt": int(differs[0]) if len(differs) else None,
        "n_steps_t_ne_k_dt": int(len(differs)),
        "max_abs_t_minus_k_dt": float(np.max(np.abs(t - k * dt))),
        "t_equals_half_step_sum": bool(np.array_equal(t, half)),
        "t_last": float(t[-1]),
    }


def worker(spec: dict) -> None:
    """Run one case (``spec["mode"]`` = ``run``) or its amplitude search (``tune``) and write the result."""
    import neuron
    from neuron import h

    c = spec["case"]
    path = morphology_path(c["morphology"])
    wall = {}
    with tempfile.TemporaryDirectory(prefix="neurax_trace_") as tmp:
        start = time.perf_counter()
        secs, via = load_cell(h, path, Path(tmp))
        wall["import"] = time.perf_counter() - start
    start = time.perf_counter()
    by_name = {s.name(): s for s in secs}
    marks = landmarks(h, secs)
    h.CVode().active(0)
    h.secondorder = 0
    nseg = configure(h, secs, c)
    stims = make_clamps(h, by_name, c)
    segs = []
    for loc in c["record"]:
        sec, x = parse_location(loc)
        segs.append(by_name[sec](x))
    wall["setup"] = time.perf_counter() - start
    if spec["mode"] == "tune":
        # every depolarising clamp gets the trial amplitude (one step, or all pulses of a train)
        tuned = [stim for stim in stims if stim.amp > 0]
        tried = []
        for amp in AMPLITUDE_LADDER:
            for stim in tuned:
                stim.amp = amp
            t, v, _ = simulate(h, segs, c)
            tried.append({"amp": amp, "spikes": len(spike_indices(v[0])), "ok": spiking_ok(t, v[0], c)})
        Path(spec["output"]).write_text(json.dumps({"name": c["name"], "tried": tried}))
        return
    t, v, wall["simulate"] = simulate(h, segs, c)
    spikes = [spike_indices(row) for row in v]
    meta = {
        "format_version": FORMAT_VERSION,
        "case": c,
        "neuron_version": neuron.__version__,
        "morphology_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "via": via,
        "nsec": len(secs),
        "ncompartments": int(sum(nseg)),
        "nseg": nseg,
        "n_steps": len(t) - 1,
        "record": c["record"],
        "spike_counts": [len(s) for s in spikes],
        "spike_times": [t[s].tolist() for s in spikes],
        "landmarks": marks,
        "time": time_report(t, c["dt"]),
        "wall_time_s": wall,
    }
    if c["min_spikes"] is not None:
        meta["spiking_ok"] = spiking_ok(t, v[0], c)
    save_traces(spec["output"], t, v, meta)


def save_traces(output, t, v, meta: dict) -> None:
    """Write ``t``, ``v`` and the JSON ``meta`` to a compressed npz (via a temporary name)."""
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(out.name + ".part.npz")
    np.savez_compressed(tmp_out, t=t, v=v, meta=np.array(json.dumps(meta)))
    os.replace(tmp_out, out)


# ----------------------------------------------------------------------------------------------------------
# Parent side: one subprocess per case
# ----------------------------------------------------------------------------------------------------------


def run_worker(spec: dict, script: str | Path = __file__, timeout: float = TIMEOUT_S) -> tuple[int | None, str]:
    """Run ``script --worker SPEC`` in a fresh interpreter; returns (return code or None on timeout, output tail)."""
    cmd = [sys.executable, "-u", str(Path(script).resolve()), "--worker", json.dumps(spec)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timeout after {timeout} s"
    return proc.returncode, (proc.stdout + proc.stderr)[-3000:]


def check(c: dict, meta: dict) -> list[str]:
    """Problems with a finished reference: a stale landmark in the table, or a spiking case that does not spike."""
    problems = []
    far = meta["landmarks"]["farthest_dendrite"]
    if c["distal"] is not None and (far is None or far[0] != c["distal"]):
        problems.append(f"distal is {c['distal']} in the table but NEURON's farthest dendrite is {far}")
    if c["min_spikes"] is not None and not meta.get("spiking_ok"):
        problems.append(f"expected >= {c['min_spikes']} spikes without block, got {meta['spike_counts'][0]}")
    return problems


def generate(c: dict, out_dir: Path) -> dict:
    """Make the reference for one case; returns a summary."""
    out = out_dir / f"{c['name']}.npz"
    return run_and_summarise(c, out, {"mode": "run", "case": c, "output": str(out)}, run_worker, check)


def run_and_summarise(c: dict, out: Path, spec: dict, runner, checker) -> dict:
    """Run a worker that writes ``out``; summarise it (timing, meta, problems found by ``checker``)."""
    start = time.monotonic()
    rc, tail = runner(spec)
    summary = {"name": c["name"], "output": str(out), "seconds": time.monotonic() - start}
    if rc != 0 or not out.exists():
        summary["error"] = f"worker failed (returncode {rc}): {tail.strip()[-1500:]}"
        return summary
    with np.load(out) as z:
        meta = json.loads(str(z["meta"]))
    summary.update(meta=meta, problems=checker(c, meta), size=out.stat().st_size)
    return summary


def tune(c: dict) -> dict:
    """Run the amplitude search for one case; returns ``{"name", "tried": [...]}`` or an error."""
    with tempfile.TemporaryDirectory(prefix="neurax_tune_") as tmp:
        out = Path(tmp) / "tune.json"
        rc, tail = run_worker({"mode": "tune", "case": c, "output": str(out)})
        if rc != 0 or not out.exists():
            return {"name": c["name"], "error": f"worker failed (returncode {rc}): {tail.strip()[-1500:]}"}
        return json.loads(out.read_text())


def print_summary(res: dict) -> None:
    """One line per generated case."""
    if "error" in res:
        print(f"ERROR  {res['name']}: {res['error']}", flush=True)
        return
    m = res["meta"]
    flag = "CHECK " if res["problems"] else "ok    "
    print(
        f"{flag}{res['name']:32s} {m['ncompartments']:5d} comp  spikes {m['spike_counts']}  "
        f"NEURON {m['wall_time_s']['simulate']:6.2f} s  {res['size'] / 1e3:6.0f} kB"
        + ("".join(f"\n       ! {p}" for p in res["problems"])),
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="only cases whose name or morphology contains SUBSTRING")
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder for the .npz references")
    parser.add_argument("--tune", action="store_true", help="search IClamp amplitudes for the spiking cases")
    parser.add_argument("--list", action="store_true", help="print the cases as neurax simulate command lines")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    cases = list(case_by_name().values())
    if args.only:
        cases = [c for c in cases if args.only in c["name"] or args.only in c["morphology"]]
    if args.list:
        for c in cases:
            print(f"{c['name']}: {c['why']}\n    neurax simulate " + shlex.join(cli_args(c)))
        return 0
    start = time.monotonic()
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        if args.tune:
            futures = [pool.submit(tune, c) for c in cases if c["min_spikes"] is not None]
            for fut in concurrent.futures.as_completed(futures):
                res = fut.result()
                if "error" in res:
                    failed += 1
                    print(f"ERROR  {res['name']}: {res['error']}", flush=True)
                    continue
                chosen = choose_amplitude(res["tried"])
                failed += chosen is None
                ladder = " ".join(f"{r['amp']}:{r['spikes']}{'' if r['ok'] else '-'}" for r in res["tried"])
                print(f"{res['name']:32s} chosen {chosen}   amp:spikes ('-' = fails) {ladder}", flush=True)
        else:
            futures = [pool.submit(generate, c, args.out) for c in cases]
            for fut in concurrent.futures.as_completed(futures):
                res = fut.result()
                print_summary(res)
                failed += bool(res.get("error") or res.get("problems"))
    size = sum(p.stat().st_size for p in args.out.glob("*.npz")) if args.out.is_dir() else 0
    print(
        f"{len(cases)} cases, {failed} with problems, {time.monotonic() - start:.1f} s; "
        f"{args.out} holds {size / 1e6:.2f} MB"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
