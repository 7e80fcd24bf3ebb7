"""Generate the NEURON targets of the fitting benchmark suite: twelve problems on real reconstructions.

Each *problem* is a complete model (morphology, Ra, cm, nseg, mechanisms per section list, ions, temperature),
a handful of its parameters to fit (with their true values, units and physical bounds), several current-clamp
protocols and the locations they are recorded at.  NEURON simulates every protocol on the true model; the suite
stores the traces (some with Gaussian noise added) so that a fitting method can be scored on cells it has never
seen.  The stored meta data describe the model completely: a neurax user rebuilds it from the meta alone
(``tests/test_fit_suite.py`` does, and matches NEURON's noise-free traces to within 1e-6 mV).

There are fewer distinct real reconstructions available (``../shared/morphologies``: eight that can be simulated;
the ninth real one, ``jaxley/morph_retina_20161028_1.swc``, has every radius 0 and no membrane) than problems, so
four cells carry two problems each, with different mechanisms, parameters and protocols.  The cells are the
repository copies in ``data/swc/`` (see its ``ATTRIBUTION.md``).

The problems reuse the approach and the helpers of ``generate_traces.py`` (Import3d, the d_lambda rule, the
fadvance loop) and the conventions of ``generate_fit_targets.py`` (mechanisms applied per section list, in order;
section lists derived from section names as neurax derives them); problems with channels of neurax's library
compile ``neurax/channels`` with ``nrnivmodl`` as ``generate_mechanisms.py`` does (files in neurax's order, in a
temporary folder; NEURON's type numbers checked).  Every problem runs in a fresh NEURON subprocess that does::

    h.nrn_load_dll(LIBRARY)                                     # only with mods
    Import3d (h.Import3d_SWC_read() / h.Import3d_Neurolucida3()) ... instantiate(None)
    h.CVode().active(0); h.secondorder = 0
    sec.Ra = Ra; sec.cm = cm                                    # every section
    for s in section_params: sec.<name> = value                  # Ra / cm per section list, in order
    sec.nseg = int((L / (d_lambda * h.lambda_f(100, sec=sec)) + .9) / 2) * 2 + 1     # with the TRUE Ra, cm
    for m in mechanisms: sec.insert(m.name); seg.<p>_<m.name> = value   # sections of m.on, in order
                         # a profile value: seg.<p>_<m.name> = f(h.distance(soma[0](0.5), seg))
    for i in ions: seg.<name> = value                           # sections of i.on (each must hold the ion)
    h.celsius = celsius; usetable_<mech> = 1 for hh and every mechanism with a TABLE
    for each protocol (separately):
        IClamps; h.dt = dt; h.finitialize(v_init); round(tstop / dt) times h.fadvance(); record seg.v

Each problem is stored in ``tests/reference_neuron/fit_suite/<name>.npz`` (compressed):

* ``t`` (n_samples,) float64: ``h.t`` at every :data:`SAMPLE_EVERY`-th step (0, 0.1, 0.2, ... ms; NEURON
  accumulates t in half steps, so this is not exactly ``k * dt``);
* ``v`` (n_protocols, n_records, n_samples) float64: the TARGET, i.e. the recorded voltages at those steps plus,
  for problems with noise, ``numpy.random.default_rng(seed).normal(0, sigma, v.shape)``;
* ``v_clean`` (same shape; only for problems with noise): the noise-free voltages;
* ``meta``: a JSON string, see below.

``meta`` holds:

* ``name``, ``note`` (what makes the problem hard), ``format_version``, ``how_to_build`` (the conventions below,
  in words);
* ``model``: ``morphology`` (repository-relative), ``morphology_sha256``, ``Ra`` and ``cm`` (on every section),
  ``section_params`` (``[{"name": "Ra" | "cm", "on": LIST, "value"}]``, applied in order after the defaults),
  ``d_lambda`` and ``d_lambda_frequency`` (how nseg was chosen) and ``nseg`` (section name -> nseg, what to use),
  ``ncompartments`` (sum of nseg), ``mods`` (``["neurax/channels"]`` or ``[]``), ``mechanisms``
  (``[{"name", "on", "params": {param: value or profile}}]``, applied in order; a later entry overrides an
  earlier one where their lists overlap), ``ions`` (``[{"name": "ena" | "ek" | ..., "on", "value"}]``), ``celsius``,
  ``v_init``, ``dt``, ``tstop``, ``rates`` ("table": NEURON's default rate tables, ``usetable_* = 1``),
  ``distance_origin`` ("soma[0](0.5)");
* a section list (``on``) is one of ``all``, ``somatic``, ``axonal``, ``basal``, ``apical`` (neurax's names) or a
  list of them (their union); ``sectionlists`` gives the members NEURON found;
* a *profile* is ``{"kind": "exp", "g0", "length"}``: ``g0 * exp(d / length)``, or ``{"kind": "linear", "g0",
  "length"}``: ``g0 * (1 + d / length)``, with ``d`` the path distance (um) from ``soma[0](0.5)`` to the
  segment's centre (``h.distance``; neurax: ``cell.set(name, f, on=...)`` with ``f`` of ``cell.distance``);
* ``fit``: the parameters to fit, ``[{"key", "name", "region", "field", "true", "unit", "bounds", "scale",
  "path"}]``: ``name`` is neurax's (``hh.gnabar``, ``pas.g``, ``Ih.gbar``, ``Ra``, ``cm``, ``ek``), ``region`` the
  section list it is set on, ``field`` the profile parameter (``g0`` / ``length``) or null, ``bounds`` the
  physical search range (never centred on the truth), ``scale`` "log" or "linear", and ``path`` the JSON path of
  the value inside ``model`` (e.g. ``["mechanisms", 2, "params", "gbar", "g0"]``): a candidate replaces exactly
  that value; everything else in ``model`` is known and fixed;
* ``effective``: per fitted key, what NEURON held after setup on the sections the entry governs (min, max;
  for profiles also the distance range);
* ``protocols``: ``[{"name", "iclamp": [{"section", "x", "delay", "dur", "amp"}], "min_spikes", "max_spikes"}]``
  (spike bounds at the first record, ``soma[0](0.5)``); each is simulated separately from ``finitialize``;
* ``record`` (locations as in neurax: ``"apic[13](0.5)"``), ``record_distance`` (um from soma[0](0.5); 1e20 in
  another tree), ``sampling`` (``dt``, ``sample_every``, ``sample_dt``, ``n_steps``), ``noise`` (null or
  ``{"sigma", "seed", "distribution": "normal"}``);
* ``spike_counts`` and ``spike_times`` (per protocol and record, upward crossings of 0 mV in the noise-free
  full-resolution traces), ``v_range``, ``neuron_version``, ``mod_files`` (with NEURON type numbers),
  ``nsec``, ``time`` (h.t vs k * dt), ``wall_time_s``.

Read a problem with :func:`tests.reference_neuron.fit_suite_refs.load_problem`.

Usage::

    python tests/reference_neuron/generate_fit_suite.py [--only SUBSTRING] [--jobs N] [--out DIR]
    python tests/reference_neuron/generate_fit_suite.py --check [--only SUBSTRING]   # reproduce bit for bit
    python tests/reference_neuron/generate_fit_suite.py --scan 0.1,0.2 --protocol supra --only pvalb
    python tests/reference_neuron/generate_fit_suite.py --list
"""

from __future__ import annotations

import argparse
import concurrent.futures
import copy
import hashlib
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE.parent.parent) not in sys.path:  # run as a script: make ``tests.reference_neuron`` importable
    sys.path.insert(0, str(HERE.parent.parent))

from tests.reference_neuron import generate_fit_targets as gft  # noqa: E402
from tests.reference_neuron import generate_mechanisms as gm  # noqa: E402
from tests.reference_neuron import generate_traces as gt  # noqa: E402

OUT_DIR = HERE / "fit_suite"
TIMEOUT_S = 900
FORMAT_VERSION = 1
#: Store every SAMPLE_EVERY-th step (dt 0.025 ms -> 0.1 ms samples) to keep the suite small.
SAMPLE_EVERY = 4
D_LAMBDA_FREQUENCY = 100.0
CHANNELS = "neurax/channels"
SOMA = gt.SOMA
ORIGIN = "soma[0](0.5)"
#: Arrays compared by ``--check``; meta keys it ignores.
ARRAYS = ("t", "v", "v_clean")
UNCHECKED_META = ("wall_time_s",)

HOW_TO_BUILD = (
    "Load model.morphology. Set Ra and cm on every section, then each model.section_params entry on its list "
    "(in order). Use model.nseg (section -> nseg; it is what NEURON's d_lambda rule gave with these Ra, cm). "
    "Apply model.mechanisms in order: insert the mechanism on every section of 'on' and set each param on every "
    "segment (a later entry overrides an earlier one where lists overlap; parameters no entry sets keep the "
    "mechanism's defaults). A profile value is a function of d, the path distance in um from soma[0](0.5) to the "
    "segment centre: exp: g0*exp(d/length); linear: g0*(1+d/length). Then set model.ions (reversal potentials) "
    "on their lists. 'on' is a section list name or a list of them (union). Simulate each protocol separately "
    "from finitialize(v_init) with fixed dt, IClamps as given, for tstop ms; record v at 'record'; the stored "
    "samples are steps 0, sample_every, 2*sample_every, ... To fit, replace the values at fit[i].path."
)

#: Physical search ranges by neurax parameter name (profile fields: ``<name>.g0`` uses the name's range).
BOUNDS = {
    "hh.gnabar": (0.01, 1.0),
    "hh.gkbar": (0.002, 0.3),
    "hh.gl": (1e-5, 1e-2),
    "hh.el": (-90.0, -40.0),
    "pas.g": (1e-6, 1e-2),
    "pas.e": (-90.0, -55.0),
    "NaT.gbar": (0.01, 10.0),
    "NaP.gbar": (1e-5, 0.02),
    "Kv3_1.gbar": (0.01, 5.0),
    "Kv1.gbar": (1e-4, 0.2),
    "KT.gbar": (1e-3, 0.5),
    "Im.gbar": (1e-5, 1e-2),
    "SK.gbar": (1e-4, 1.0),
    "CaHVA.gbar": (1e-5, 1e-2),
    "CaPool.gamma": (1e-4, 0.05),
    "CaPool.decay": (10.0, 1000.0),
    "Ih.gbar": (1e-6, 1e-2),
    "length": (50.0, 2000.0),
    "Ra": (20.0, 500.0),
    "cm": (0.3, 3.0),
    "ek": (-100.0, -60.0),
}
UNITS = {"gnabar": "S/cm2", "gkbar": "S/cm2", "gl": "S/cm2", "el": "mV", "g": "S/cm2", "e": "mV", "gbar": "S/cm2",
         "gamma": "1", "decay": "ms", "length": "um", "Ra": "ohm cm", "cm": "uF/cm2", "ek": "mV", "ena": "mV"}
#: Parameters searched on a linear scale (the rest, conductances, Ra, lengths and time constants, on a log scale).
LINEAR = {"el", "e", "ek", "ena", "cm"}


# ----------------------------------------------------------------------------------------------------------
# Building the table
# ----------------------------------------------------------------------------------------------------------


def mech(name: str, on: str | list[str], **params) -> dict:
    """One ``mechanisms`` entry: ``params`` are numbers or profiles (:func:`exp_profile`, :func:`linear_profile`)."""
    return {"name": name, "on": on, "params": {k: v if isinstance(v, dict) else float(v) for k, v in params.items()}}


def exp_profile(g0: float, length: float) -> dict:
    """``g0 * exp(d / length)``, d the path distance (um) from soma[0](0.5)."""
    return {"kind": "exp", "g0": float(g0), "length": float(length)}


def linear_profile(g0: float, length: float) -> dict:
    """``g0 * (1 + d / length)``, d the path distance (um) from soma[0](0.5)."""
    return {"kind": "linear", "g0": float(g0), "length": float(length)}


def profile_value(profile: dict, d: float) -> float:
    """A profile's value at path distance ``d`` (um)."""
    if profile["kind"] == "exp":
        return profile["g0"] * math.exp(d / profile["length"])
    if profile["kind"] == "linear":
        return profile["g0"] * (1.0 + d / profile["length"])
    raise ValueError(f"unknown profile kind {profile['kind']!r}")


def ion(name: str, on: str | list[str], value: float) -> dict:
    """One ``ions`` entry (a reversal potential such as ``ek`` on the sections of ``on``)."""
    return {"name": name, "on": on, "value": float(value)}


def stim(location: str, delay: float, dur: float, amp: float) -> dict:
    """One IClamp at ``location`` (``"soma[0](0.5)"``)."""
    section, x = gt.parse_location(location)
    return {"section": section, "x": float(x), "delay": float(delay), "dur": float(dur), "amp": float(amp)}


def protocol(name: str, iclamp: list[dict], *, min_spikes: int | None = None, max_spikes: int | None = None) -> dict:
    """One protocol: its IClamps and the soma spike counts it must give (checked on every run)."""
    return {"name": name, "iclamp": list(iclamp), "min_spikes": min_spikes, "max_spikes": max_spikes}


def step(name: str, location: str, amp: float, *, delay: float = 20.0, dur: float = 150.0, **kwargs) -> dict:
    """A protocol of one step clamp."""
    return protocol(name, [stim(location, delay, dur, amp)], **kwargs)


def train(name: str, location: str, amp: float, *, first: float = 20.0, period: float = 20.0, width: float = 2.0,
          count: int = 5, **kwargs) -> dict:
    """A protocol of ``count`` pulses of ``width`` ms every ``period`` ms."""
    return protocol(name, [stim(location, first + k * period, width, amp) for k in range(count)], **kwargs)


def region_key(on: str | list[str]) -> str:
    """``"somatic"`` or ``"basal+apical"``."""
    return on if isinstance(on, str) else "+".join(on)


def resolve(model: dict, ref: str) -> dict:
    """The fit entry of ``ref``: ``Ra``, ``cm``, ``cm@apical``, ``ek@somatic``, ``hh.gnabar@somatic``,
    ``Ih.gbar.g0@apical`` (a profile field); the (unique) table entry that sets it gives the true value."""
    name, _, region = ref.partition("@")
    if name in ("Ra", "cm") and not region:
        return fit_entry(name, "all", None, model[name], [name])
    hits = []
    if name in ("Ra", "cm"):
        hits = [(["section_params", i, "value"], s["value"]) for i, s in enumerate(model["section_params"])
                if s["name"] == name and region_key(s["on"]) == region]
    elif "." not in name:
        hits = [(["ions", i, "value"], s["value"]) for i, s in enumerate(model["ions"])
                if s["name"] == name and region_key(s["on"]) == region]
    else:
        mname, param, *field = name.split(".")
        for i, m in enumerate(model["mechanisms"]):
            if m["name"] == mname and region_key(m["on"]) == region and param in m["params"]:
                value = m["params"][param]
                if field:
                    hits.append((["mechanisms", i, "params", param, field[0]], value[field[0]]))
                elif not isinstance(value, dict):
                    hits.append((["mechanisms", i, "params", param], value))
        name = f"{mname}.{param}"
        field = field[0] if field else None
        if len(hits) == 1:
            return fit_entry(name, region, field, hits[0][1], hits[0][0])
    if len(hits) != 1:
        raise ValueError(f"{ref}: {len(hits)} table entries set it (need exactly one)")
    return fit_entry(name, region, None, hits[0][1], hits[0][0])


def fit_entry(name: str, region: str, field: str | None, true: float, path: list) -> dict:
    """One ``fit`` entry with its unit, bounds and scale."""
    param = name.rsplit(".", 1)[-1]
    kind = "length" if field == "length" else name
    lo, hi = BOUNDS[kind]
    if not lo < true < hi:
        raise ValueError(f"{name}@{region}: true value {true} outside the bounds [{lo}, {hi}]")
    return {
        "key": f"{name}{'.' + field if field else ''}@{region}",
        "name": name,
        "region": region,
        "field": field,
        "true": float(true),
        "unit": "um" if field == "length" else UNITS[param],
        "bounds": [float(lo), float(hi)],
        "scale": "linear" if param in LINEAR and field is None else "log",
        "path": path,
    }


def problem(name: str, morphology: str, note: str, *, Ra: float, cm: float, d_lambda: float, mechanisms: list[dict],
            protocols: list[dict], record: list[str], fit: list[str], tstop: float, section_params: list[dict] = (),
            ions: list[dict] = (), mods: list[str] = (), celsius: float = 6.3, v_init: float = -65.0,
            dt: float = 0.025, noise: dict | None = None) -> dict:
    """One problem of the table (validated: 6 to 20 parameters, each set by exactly one entry)."""
    model = {
        "morphology": morphology,
        "Ra": float(Ra),
        "cm": float(cm),
        "section_params": [dict(s, value=float(s["value"])) for s in section_params],
        "d_lambda": float(d_lambda),
        "d_lambda_frequency": D_LAMBDA_FREQUENCY,
        "mods": list(mods),
        "mechanisms": copy.deepcopy(mechanisms),
        "ions": list(ions),
        "celsius": float(celsius),
        "v_init": float(v_init),
        "dt": float(dt),
        "tstop": float(tstop),
        "rates": "table",
        "distance_origin": ORIGIN,
    }
    entries = [resolve(model, ref) for ref in fit]
    keys = [e["key"] for e in entries]
    if not 6 <= len(entries) <= 20 or len(set(keys)) != len(keys):
        raise ValueError(f"{name}: need 6 to 20 distinct parameters, got {keys}")
    if round(tstop / dt) % SAMPLE_EVERY:
        raise ValueError(f"{name}: tstop / dt must be a multiple of {SAMPLE_EVERY}")
    if not 2 <= len(record) <= 4 or record[0] != SOMA:
        raise ValueError(f"{name}: record 2 to 4 locations, soma[0](0.5) first")
    return {"name": name, "note": note, "model": model, "fit": entries, "protocols": list(protocols),
            "record": list(record), "noise": noise}


def gaussian(sigma: float, seed: int) -> dict:
    """Gaussian noise (mV) added to the stored target."""
    return {"sigma": float(sigma), "seed": int(seed), "distribution": "normal"}


CELL_C91662 = "data/swc/c91662.swc"
CELL_PYR = "data/swc/pyramidal.swc"
CELL_N120 = "data/swc/morph_ca1_n120.swc"
CELL_ALLEN = "data/swc/morph_allen_485574832.swc"
CELL_SCNN1A = "data/swc/Scnn1a_473845048_m.swc"
CELL_PVALB = "data/swc/Pvalb_469628681_m.swc"
CELL_BIO = "data/swc/bio_neuron-000.asc"
CELL_111200 = "data/swc/111200A.asc"
AXO_SOMA = ["somatic", "axonal"]
DENDRITES = ["basal", "apical"]
K_NA = [ion("ena", AXO_SOMA, 50.0), ion("ek", AXO_SOMA, -85.0)]

PROBLEMS = [
    problem(
        "c91662_hh_soma_axon",
        CELL_C91662,
        "A large CA1 cell whose 15 mm of passive dendrite loads the soma: the passive dendrite parameters, Ra and "
        "cm shape every trace, while the axonal hh conductances act through one thin 557 um axon recorded only "
        "at its end; 0.5 mV noise.",
        Ra=120.0, cm=1.2, d_lambda=0.1, tstop=200.0,
        mechanisms=[
            mech("hh", "somatic", gnabar=0.3, gkbar=0.06, gl=4e-4),
            mech("hh", "axonal", gnabar=0.3, gkbar=0.05, gl=2e-4),
            mech("pas", DENDRITES, e=-66.0),
            mech("pas", "basal", g=8e-5),
            mech("pas", "apical", g=5e-5),
        ],
        fit=["hh.gnabar@somatic", "hh.gkbar@somatic", "hh.gl@somatic", "hh.gnabar@axonal", "hh.gkbar@axonal",
             "pas.g@basal", "pas.g@apical", "pas.e@basal+apical", "Ra", "cm"],
        protocols=[
            step("hyperpolarising", SOMA, -0.25, max_spikes=0),
            step("subthreshold", SOMA, 0.1, max_spikes=0),
            step("suprathreshold", SOMA, 0.75, min_spikes=3),
        ],
        record=[SOMA, "apic[13](0.5)", "apic[43](0.5)", "axon[0](1)"],
        noise=gaussian(0.5, 101),
    ),
    problem(
        "pyramidal_ih_exp",
        CELL_PYR,
        "Ih rising exponentially along the apical tree (g0 and length trade off against each other and against "
        "pas.g), sag seen at soma and dendrite; fast Na/K at soma and axon from one suprathreshold step at 34 degC; "
        "0.75 mV noise.",
        Ra=150.0, cm=1.0, d_lambda=0.1, tstop=200.0, celsius=34.0, v_init=-71.0, mods=[CHANNELS],
        mechanisms=[
            mech("pas", "all", g=3e-5, e=-72.0),
            mech("Ih", ["somatic", "basal"], gbar=5e-5),
            mech("Ih", "apical", gbar=exp_profile(5e-5, 250.0)),
            mech("NaT", "somatic", gbar=1.5),
            mech("Kv3_1", "somatic", gbar=0.7),
            mech("NaT", "axonal", gbar=3.0),
            mech("Kv3_1", "axonal", gbar=1.0),
        ],
        ions=K_NA,
        fit=["pas.g@all", "pas.e@all", "Ih.gbar@somatic+basal", "Ih.gbar.g0@apical", "Ih.gbar.length@apical",
             "NaT.gbar@somatic", "Kv3_1.gbar@somatic", "NaT.gbar@axonal", "Kv3_1.gbar@axonal", "Ra", "cm"],
        protocols=[
            step("hyperpolarising", SOMA, -0.15, max_spikes=0),
            step("dendritic_hyperpolarising", "apic[48](0.5)", -0.03, max_spikes=0),
            step("suprathreshold", SOMA, 0.3, min_spikes=3),
        ],
        record=[SOMA, "apic[14](0.5)", "apic[48](0.5)"],
        noise=gaussian(0.75, 202),
    ),
    problem(
        "n120_passive_linear",
        CELL_N120,
        "Purely passive, but pas.g grows linearly along the apical tree and apical cm differs (spines): the "
        "apical g0, length and cm, the somatic and basal g and Ra are strongly correlated; the soma and 3 apical "
        "sites with 0.5 mV noise.",
        Ra=200.0, cm=1.0, d_lambda=0.1, tstop=150.0, v_init=-70.0,
        section_params=[{"name": "cm", "on": "apical", "value": 1.8}],
        mechanisms=[
            mech("pas", "all", e=-70.0),
            mech("pas", "somatic", g=6e-5),
            mech("pas", "basal", g=4e-5),
            mech("pas", "apical", g=linear_profile(3e-5, 400.0)),
        ],
        fit=["pas.g@somatic", "pas.g@basal", "pas.g.g0@apical", "pas.g.length@apical", "pas.e@all", "Ra", "cm",
             "cm@apical"],
        protocols=[
            step("hyperpolarising", SOMA, -0.1, delay=10.0, dur=100.0),
            train("pulses", SOMA, 1.0, first=10.0, period=40.0, width=1.0, count=3),
            step("dendritic", "apic[25](0.5)", 0.01, delay=10.0, dur=100.0),
        ],
        record=[SOMA, "apic[1](0.5)", "apic[10](0.5)", "apic[25](0.5)"],
        noise=gaussian(0.5, 303),
    ),
    problem(
        "allen485574832_hh_regions",
        CELL_ALLEN,
        "hh with its own gnabar, gkbar and gl on each of the four section lists (13 parameters): the thin "
        "apical and basal conductances show only in the dendritic recordings and the apical pulse train.",
        Ra=90.0, cm=1.0, d_lambda=0.1, tstop=200.0,
        mechanisms=[
            mech("hh", "somatic", gnabar=0.12, gkbar=0.036, gl=3e-4),
            mech("hh", "axonal", gnabar=0.25, gkbar=0.05, gl=3e-4),
            mech("hh", "basal", gnabar=0.02, gkbar=0.01, gl=1e-4),
            mech("hh", "apical", gnabar=0.03, gkbar=0.012, gl=1.5e-4),
        ],
        fit=["hh.gnabar@somatic", "hh.gkbar@somatic", "hh.gl@somatic", "hh.gnabar@axonal", "hh.gkbar@axonal",
             "hh.gnabar@basal", "hh.gkbar@basal", "hh.gl@basal", "hh.gnabar@apical", "hh.gkbar@apical",
             "hh.gl@apical", "Ra", "cm"],
        protocols=[
            step("hyperpolarising", SOMA, -0.07, max_spikes=0),
            step("subthreshold", SOMA, 0.03, max_spikes=0),
            step("suprathreshold", SOMA, 0.2, min_spikes=3),
            train("apical_pulses", "apic[30](0.5)", 0.05, first=20.0, period=30.0, width=2.0, count=5),
        ],
        record=[SOMA, "apic[13](0.5)", "apic[30](1)", "dend[30](1)"],
    ),
    problem(
        "scnn1a_ca_sk",
        CELL_SCNN1A,
        "Ca-activated AHP at 34 degC: CaHVA, the Ca pool's gamma and decay, and SK act only through their "
        "product on the AHP and adaptation, and Im adds a second slow K current; 13 parameters, 1 mV noise.",
        Ra=110.0, cm=1.0, d_lambda=0.1, tstop=250.0, celsius=34.0, v_init=-75.0, mods=[CHANNELS],
        mechanisms=[
            mech("pas", "all", g=4e-5, e=-75.0),
            mech("NaT", "somatic", gbar=1.2),
            mech("Kv3_1", "somatic", gbar=0.5),
            mech("Im", "somatic", gbar=2e-4),
            mech("SK", "somatic", gbar=0.02),
            mech("CaHVA", "somatic", gbar=1e-3),
            mech("CaPool", "somatic", gamma=8e-4, decay=120.0),
            mech("NaT", "axonal", gbar=2.5),
            mech("Kv3_1", "axonal", gbar=0.8),
        ],
        ions=K_NA,
        fit=["NaT.gbar@somatic", "Kv3_1.gbar@somatic", "Im.gbar@somatic", "SK.gbar@somatic", "CaHVA.gbar@somatic",
             "CaPool.gamma@somatic", "CaPool.decay@somatic", "NaT.gbar@axonal", "Kv3_1.gbar@axonal", "pas.g@all",
             "pas.e@all", "Ra", "cm"],
        protocols=[
            step("hyperpolarising", SOMA, -0.05, dur=200.0, max_spikes=0),
            step("subthreshold", SOMA, 0.03, dur=200.0, max_spikes=0),
            step("suprathreshold", SOMA, 0.2, dur=200.0, min_spikes=4),
            train("pulses", SOMA, 1.0, first=20.0, period=20.0, width=2.0, count=5, min_spikes=5),
        ],
        record=[SOMA, "apic[9](0.5)", "apic[15](1)", "axon[2](1)"],
        noise=gaussian(1.0, 505),
    ),
    problem(
        "pvalb_hh_el",
        CELL_PVALB,
        "A small aspiny cell with hh on every list and its own el per list (11 parameters): el and gl trade off "
        "at rest. The 6 um axon stub's leak, el and gnabar are not fitted: no recording determines them (with 0.1 mV "
        "noise, gl and el of the stub would stay uncertain by a factor of 10; nx.fit.identifiability).",
        Ra=80.0, cm=0.9, d_lambda=0.1, tstop=200.0, v_init=-68.0,
        mechanisms=[
            mech("hh", "somatic", gnabar=0.2, gkbar=0.06, gl=3e-4, el=-60.0),
            mech("hh", "basal", gnabar=0.03, gkbar=0.015, gl=1e-4, el=-62.0),
            mech("hh", "axonal", gnabar=0.4, gkbar=0.08, gl=3e-4, el=-60.0),
        ],
        fit=["hh.gnabar@somatic", "hh.gkbar@somatic", "hh.gl@somatic", "hh.el@somatic", "hh.gnabar@basal",
             "hh.gkbar@basal", "hh.gl@basal", "hh.el@basal", "hh.gkbar@axonal", "Ra", "cm"],
        protocols=[
            step("hyperpolarising", SOMA, -0.05, max_spikes=0),
            step("subthreshold", SOMA, 0.04, max_spikes=0),
            step("suprathreshold", SOMA, 0.3, min_spikes=3),
            train("pulses", SOMA, 1.0, first=20.0, period=10.0, width=1.0, count=10),
        ],
        record=[SOMA, "dend[23](0.5)", "dend[29](1)"],
    ),
    problem(
        "bio_neuron_hh_axon_arbor",
        CELL_BIO,
        "A cell whose 510-section axonal arbor (most of its 21 mm) is active: the axon's hh conductances and "
        "leak act through the whole arbor, recorded at a tip 866 um away; d_lambda 0.3 (not 0.1) keeps it under "
        "1,000 compartments; 16 degC.",
        Ra=120.0, cm=1.0, d_lambda=0.3, tstop=200.0,
        mechanisms=[
            mech("hh", "somatic", gnabar=0.4, gkbar=0.08, gl=3e-4),
            mech("hh", "axonal", gnabar=0.2, gkbar=0.04, gl=3e-4),
            mech("pas", "basal", g=5e-5, e=-65.0),
        ],
        fit=["hh.gnabar@somatic", "hh.gkbar@somatic", "hh.gl@somatic", "hh.gnabar@axonal", "hh.gkbar@axonal",
             "hh.gl@axonal", "pas.g@basal", "pas.e@basal", "Ra", "cm"],
        protocols=[
            step("hyperpolarising", SOMA, -0.1, max_spikes=0),
            step("suprathreshold", SOMA, 0.3, min_spikes=3),
            step("dendritic", "dend[52](0.5)", 0.02, max_spikes=0),
        ],
        record=[SOMA, "dend[46](0.5)", "dend[52](1)", "axon[418](1)"],
    ),
    problem(
        "a111200_two_trees_passive",
        CELL_111200,
        "Two cells in one file (two somas, two unconnected trees) share one set of passive parameters; each "
        "protocol informs only the tree it is applied to. d_lambda 0.3 (35 mm of neurite); 0.5 mV noise.",
        Ra=150.0, cm=1.1, d_lambda=0.3, tstop=150.0, v_init=-68.0,
        mechanisms=[
            mech("pas", "all", e=-68.0),
            mech("pas", "somatic", g=1.2e-4),
            mech("pas", "basal", g=5e-5),
            mech("pas", "apical", g=4e-5),
            mech("pas", "axonal", g=2e-4),
        ],
        fit=["pas.g@somatic", "pas.g@basal", "pas.g@apical", "pas.g@axonal", "pas.e@all", "Ra", "cm"],
        protocols=[
            step("soma0_hyperpolarising", "soma[0](0.5)", -0.1, delay=10.0, dur=100.0),
            step("soma1_depolarising", "soma[1](0.5)", 0.1, delay=10.0, dur=100.0),
            train("apical_pulses", "apic[51](0.5)", 0.1, first=10.0, period=30.0, width=2.0, count=4),
        ],
        record=[SOMA, "soma[1](0.5)", "apic[51](1)", "apic[30](1)"],
        noise=gaussian(0.5, 808),
    ),
    problem(
        "c91662_ih_linear",
        CELL_C91662,
        "Ih growing linearly along the apical tree and at the soma, with NaT, Kv3_1 and the slow Im at soma and "
        "axon (34 degC): the sag, its distal enhancement and spike-frequency adaptation must all be explained "
        "by 12 parameters.",
        Ra=140.0, cm=1.0, d_lambda=0.1, tstop=250.0, celsius=34.0, v_init=-71.0, mods=[CHANNELS],
        mechanisms=[
            mech("pas", "all", g=3e-5, e=-72.0),
            mech("Ih", "somatic", gbar=4e-5),
            mech("Ih", "apical", gbar=linear_profile(4e-5, 200.0)),
            mech("NaT", "somatic", gbar=1.0),
            mech("Kv3_1", "somatic", gbar=0.4),
            mech("Im", "somatic", gbar=3e-4),
            mech("NaT", "axonal", gbar=2.0),
            mech("Kv3_1", "axonal", gbar=0.6),
        ],
        ions=K_NA,
        fit=["NaT.gbar@somatic", "Kv3_1.gbar@somatic", "Im.gbar@somatic", "NaT.gbar@axonal", "Kv3_1.gbar@axonal",
             "Ih.gbar@somatic", "Ih.gbar.g0@apical", "Ih.gbar.length@apical", "pas.g@all", "pas.e@all", "Ra",
             "cm"],
        protocols=[
            step("hyperpolarising", SOMA, -0.2, dur=200.0, max_spikes=0),
            step("subthreshold", SOMA, 0.07, dur=200.0, max_spikes=0),
            step("suprathreshold", SOMA, 0.4, dur=200.0, min_spikes=4),
            step("dendritic_hyperpolarising", "apic[30](0.5)", -0.1, dur=200.0, max_spikes=0),
        ],
        record=[SOMA, "apic[13](0.5)", "apic[30](0.5)", "apic[43](0.5)"],
    ),
    problem(
        "pyramidal_hh_gk_gradient",
        CELL_PYR,
        "hh everywhere with gkbar rising linearly along the apical tree (g0, length) against a uniform apical "
        "gnabar: back-propagation and the distal response to a dendritic step decide them; 0.75 mV noise.",
        Ra=80.0, cm=1.3, d_lambda=0.1, tstop=200.0,
        mechanisms=[
            mech("hh", "all", gl=1e-4),
            mech("hh", "somatic", gnabar=0.15, gkbar=0.04, gl=3e-4),
            mech("hh", "axonal", gnabar=0.25, gkbar=0.05, gl=3e-4),
            mech("hh", "basal", gnabar=0.03, gkbar=0.01),
            mech("hh", "apical", gnabar=0.04, gkbar=linear_profile(0.01, 150.0)),
        ],
        fit=["hh.gnabar@somatic", "hh.gkbar@somatic", "hh.gl@somatic", "hh.gnabar@axonal", "hh.gnabar@apical",
             "hh.gkbar.g0@apical", "hh.gkbar.length@apical", "hh.gl@all", "Ra", "cm"],
        protocols=[
            step("hyperpolarising", SOMA, -0.1, max_spikes=0),
            step("suprathreshold", SOMA, 0.5, min_spikes=3),
            step("dendritic", "apic[48](0.5)", 0.1),
            train("pulses", SOMA, 1.0, first=20.0, period=25.0, width=2.0, count=6),
        ],
        record=[SOMA, "apic[14](0.5)", "apic[48](0.5)", "axon[1](1)"],
        noise=gaussian(0.75, 1010),
    ),
    problem(
        "allen485574832_nap_kv1",
        CELL_ALLEN,
        "Five somatic channels that all act near threshold at 34 degC (NaT, persistent NaP, Kv3_1, low-threshold "
        "Kv1, transient KT): the subthreshold and threshold behaviour has to separate NaP from Kv1 and KT; "
        "0.5 mV noise.",
        Ra=150.0, cm=1.0, d_lambda=0.1, tstop=200.0, celsius=34.0, v_init=-74.0, mods=[CHANNELS],
        mechanisms=[
            mech("pas", "all", g=5e-5, e=-72.0),
            mech("NaT", "somatic", gbar=1.0),
            mech("NaP", "somatic", gbar=2e-3),
            mech("Kv3_1", "somatic", gbar=0.4),
            mech("Kv1", "somatic", gbar=0.01),
            mech("KT", "somatic", gbar=0.03),
            mech("NaT", "axonal", gbar=2.0),
            mech("Kv3_1", "axonal", gbar=0.8),
        ],
        ions=K_NA,
        fit=["NaT.gbar@somatic", "NaP.gbar@somatic", "Kv3_1.gbar@somatic", "Kv1.gbar@somatic", "KT.gbar@somatic",
             "NaT.gbar@axonal", "Kv3_1.gbar@axonal", "pas.g@all", "pas.e@all", "Ra", "cm"],
        protocols=[
            step("hyperpolarising", SOMA, -0.05, max_spikes=0),
            step("subthreshold", SOMA, 0.12, max_spikes=0),
            step("suprathreshold", SOMA, 0.3, min_spikes=3),
        ],
        record=[SOMA, "apic[13](0.5)", "axon[0](1)"],
        noise=gaussian(0.5, 1111),
    ),
    problem(
        "n120_hh_gl_exp",
        CELL_N120,
        "hh with the leak gl rising exponentially along the apical tree of a CA1 cell with a 958 um apical "
        "dendrite and two soma sections; el, gl and the gradient set the resting profile, while the dendritic "
        "gnabar/gkbar show in the distal step.",
        Ra=150.0, cm=1.0, d_lambda=0.1, tstop=200.0,
        mechanisms=[
            mech("hh", "all", el=-60.0),
            mech("hh", "somatic", gnabar=0.3, gkbar=0.06),
            mech("hh", DENDRITES, gnabar=0.025, gkbar=0.01),
            mech("hh", ["somatic", "basal"], gl=2e-4),
            mech("hh", "apical", gl=exp_profile(1e-4, 500.0)),
        ],
        fit=["hh.gnabar@somatic", "hh.gkbar@somatic", "hh.gnabar@basal+apical", "hh.gkbar@basal+apical",
             "hh.gl@somatic+basal", "hh.gl.g0@apical", "hh.gl.length@apical", "hh.el@all", "Ra", "cm"],
        protocols=[
            step("hyperpolarising", SOMA, -0.2, max_spikes=0),
            step("subthreshold", SOMA, 0.05, max_spikes=0),
            step("suprathreshold", SOMA, 0.6, min_spikes=3),
            step("dendritic", "apic[25](0.5)", 0.2),
        ],
        record=[SOMA, "apic[1](0.5)", "apic[10](0.5)", "apic[25](0.5)"],
    ),
]


def problem_by_name() -> dict[str, dict]:
    """The table as name -> problem."""
    table = {p["name"]: p for p in PROBLEMS}
    if len(table) != len(PROBLEMS):
        raise ValueError("duplicate problem names")
    return table


def clamp_strings(p: dict) -> list[str]:
    """A protocol's IClamps as ``generate_traces`` strings (``SEC(X),DELAY,DUR,AMP``)."""
    return [gt.clamp(f"{s['section']}({s['x']!r})", s["delay"], s["dur"], s["amp"]) for s in p["iclamp"]]


# ----------------------------------------------------------------------------------------------------------
# Worker side: runs inside the subprocess, talks to NEURON
# ----------------------------------------------------------------------------------------------------------


def members(lists: dict[str, list[str]], on: str | list[str]) -> list[str]:
    """The sections of ``on`` (a list name or a list of them), in ``h.allsec()`` order."""
    names = [on] if isinstance(on, str) else list(on)
    wanted = set()
    for name in names:
        if not lists.get(name):
            raise ValueError(f"section list {name!r} is empty or missing")
        wanted.update(lists[name])
    return [n for n in lists["all"] if n in wanted]


def load_library(h, spec: dict) -> list[dict]:
    """Load the compiled channels (if any) and check NEURON's type numbers follow the listed order."""
    files = [Path(f) for f in spec["files"]]
    if not files:
        return []
    if not h.nrn_load_dll(spec["library"]):
        raise RuntimeError(f"could not load {spec['library']}")
    from neurax.port.run import type_orders

    names = [gm.suffix_of(f) for f in files]
    types = type_orders(h)
    listed = [types[n] for n in names]
    if listed != sorted(listed) or len(set(listed)) != len(listed):
        raise RuntimeError(f"NEURON's type order {dict(zip(names, listed, strict=True))} is not the listed order")
    return [{"file": str(f.relative_to(gt.REPO)), "mechanism": n, "type": types[n],
             "sha256": hashlib.sha256(f.read_bytes()).hexdigest()} for f, n in zip(files, names, strict=True)]


def configure(h, secs: list, model: dict, lists: dict[str, list[str]], mechanism_names: list[str]) -> dict:
    """Ra, cm, section params, nseg (d_lambda with the true Ra/cm), mechanisms, ions, celsius, tables."""
    by_name = {s.name(): s for s in secs}
    origin = by_name["soma[0]"](0.5)
    for sec in secs:
        sec.Ra = model["Ra"]
        sec.cm = model["cm"]
    for s in model["section_params"]:
        for name in members(lists, s["on"]):
            setattr(by_name[name], s["name"], s["value"])
    for sec in secs:  # generate_traces' rule, section by section with its own (uniform) Ra and cm
        gt.discretise(h, [sec], {"Ra": sec.Ra, "cm": sec.cm, "nseg": None, "d_lambda": model["d_lambda"]})
    for m in model["mechanisms"]:
        for name in members(lists, m["on"]):
            sec = by_name[name]
            sec.insert(m["name"])
            for seg in sec:
                for p, value in m["params"].items():
                    if isinstance(value, dict):
                        value = profile_value(value, h.distance(origin, seg))
                    setattr(seg, f"{p}_{m['name']}", value)
    for entry in model["ions"]:
        species = entry["name"][1:]
        for name in members(lists, entry["on"]):
            sec = by_name[name]
            if not h.ismembrane(f"{species}_ion", sec=sec):
                raise ValueError(f"{entry['name']} on {name}: no {species} ion there")
            for seg in sec:
                setattr(seg, entry["name"], entry["value"])
    h.celsius = model["celsius"]
    usetable = {}
    for name in ["hh", *mechanism_names]:
        if hasattr(h, f"usetable_{name}"):
            setattr(h, f"usetable_{name}", 1)
            usetable[name] = int(getattr(h, f"usetable_{name}"))
    return {"nseg": {s.name(): int(s.nseg) for s in secs}, "usetable": usetable}


def governed(model: dict, lists: dict[str, list[str]], path: list) -> list[str]:
    """The sections where the value at ``path`` holds: its entry's list minus later entries setting the same."""
    if path[0] in ("Ra", "cm"):
        later = [s for s in model["section_params"] if s["name"] == path[0]]
        return [n for n in lists["all"] if n not in {x for s in later for x in members(lists, s["on"])}]
    kind, index = path[0], path[1]
    entry = model[kind][index]
    if kind == "mechanisms":
        later = [m["on"] for m in model[kind][index + 1:]
                 if m["name"] == entry["name"] and path[3] in m["params"]]
    else:
        later = [s["on"] for s in model[kind][index + 1:] if s["name"] == entry["name"]]
    hidden = {x for on in later for x in members(lists, on)}
    return [n for n in members(lists, entry["on"]) if n not in hidden]


def read_value(h, seg, model: dict, path: list) -> float:
    """What NEURON holds for the value at ``path`` on one segment."""
    if path[0] in ("Ra", "cm") or (path[0] == "section_params"):
        name = path[0] if path[0] in ("Ra", "cm") else model["section_params"][path[1]]["name"]
        return float(seg.sec.Ra if name == "Ra" else seg.cm)
    if path[0] == "ions":
        return float(getattr(seg, model["ions"][path[1]]["name"]))
    m = model["mechanisms"][path[1]]
    return float(getattr(seg, f"{path[3]}_{m['name']}"))


def check_model(h, secs: list, model: dict, lists: dict[str, list[str]], fit: list[dict]) -> dict:
    """Check every table value holds where it governs; return per fitted key what NEURON holds there."""
    by_name = {s.name(): s for s in secs}
    origin = by_name["soma[0]"](0.5)
    for i, m in enumerate(model["mechanisms"]):
        for p, value in m["params"].items():
            for name in governed(model, lists, ["mechanisms", i, "params", p]):
                for seg in by_name[name]:
                    want = profile_value(value, h.distance(origin, seg)) if isinstance(value, dict) else value
                    got = getattr(seg, f"{p}_{m['name']}")
                    if got != want:
                        raise RuntimeError(f"{name}: {p}_{m['name']} is {got}, expected {want}")
    effective = {}
    for e in fit:
        path = e["path"]
        if path[0] == "mechanisms":
            path = path[:4]
        values, dists = [], []
        for name in governed(model, lists, path):
            for seg in by_name[name]:
                values.append(read_value(h, seg, model, path))
                dists.append(h.distance(origin, seg))
        if not values:
            raise RuntimeError(f"{e['key']}: governs no segment")
        row = {"min": min(values), "max": max(values), "n_segments": len(values)}
        if e["field"] is not None:
            row["distance_range"] = [min(dists), max(dists)]
        elif row["min"] != e["true"] or row["max"] != e["true"]:
            raise RuntimeError(f"{e['key']}: NEURON holds {row}, the table says {e['true']}")
        effective[e["key"]] = row
    return effective


def worker(spec: dict) -> None:
    """Run one problem (all its protocols) or, with ``spec["scan"]``, an amplitude scan of one protocol."""
    import neuron
    from neuron import h

    prob = spec["problem"]
    model = prob["model"]
    mod_info = load_library(h, spec)
    path = gt.morphology_path(model["morphology"])
    wall = {}
    with tempfile.TemporaryDirectory(prefix="neurax_fit_suite_") as tmp:
        start = time.perf_counter()
        secs, _ = gt.load_cell(h, path, Path(tmp))
        wall["import"] = time.perf_counter() - start
    start = time.perf_counter()
    by_name = {s.name(): s for s in secs}
    lists = gft.section_lists([s.name() for s in secs])
    h.CVode().active(0)
    h.secondorder = 0
    applied = configure(h, secs, model, lists, [m["mechanism"] for m in mod_info])
    effective = check_model(h, secs, model, lists, prob["fit"])
    segs = []
    for loc in prob["record"]:
        sec, x = gt.parse_location(loc)
        segs.append(by_name[sec](x))
    origin = by_name["soma[0]"](0.5)
    record_distance = [float(h.distance(origin, seg)) for seg in segs]
    wall["setup"] = time.perf_counter() - start
    if spec.get("scan"):
        chosen = next(p for p in prob["protocols"] if p["name"] == spec["protocol"])
        rows = []
        for amp in spec["scan"]:
            trial = {"iclamp": [dict(s, amp=amp) for s in chosen["iclamp"]]}
            stims = gt.make_clamps(h, by_name, {"iclamp": clamp_strings(trial)})  # noqa: F841 (kept alive)
            _, v, seconds = gt.simulate(h, segs, model)
            rows.append({"amp": amp, "spikes": [len(gt.spike_indices(r)) for r in v], "seconds": seconds,
                         "vmin": [float(r.min()) for r in v], "vmax": [float(r.max()) for r in v],
                         "vend": [float(r[-1]) for r in v]})
        Path(spec["output"]).write_text(json.dumps({"name": prob["name"], "scan": rows}))
        return
    v_full, t = [], None
    wall["simulate"] = 0.0
    for p in prob["protocols"]:
        stims = gt.make_clamps(h, by_name, {"iclamp": clamp_strings(p)})  # noqa: F841 (kept alive until next)
        t, v, seconds = gt.simulate(h, segs, model)
        wall["simulate"] += seconds
        v_full.append(v)
    v_full = np.stack(v_full)
    spikes = [[gt.spike_indices(row) for row in v] for v in v_full]
    v_clean = np.ascontiguousarray(v_full[:, :, ::SAMPLE_EVERY])
    arrays = {"t": np.ascontiguousarray(t[::SAMPLE_EVERY]), "v": v_clean}
    if prob["noise"] is not None:
        rng = np.random.default_rng(prob["noise"]["seed"])
        arrays["v"] = v_clean + rng.normal(0.0, prob["noise"]["sigma"], size=v_clean.shape)
        arrays["v_clean"] = v_clean
    meta = {
        "format_version": FORMAT_VERSION,
        "name": prob["name"],
        "note": prob["note"],
        "how_to_build": HOW_TO_BUILD,
        "model": dict(model, nseg=applied["nseg"], ncompartments=int(sum(applied["nseg"].values())),
                      morphology_sha256=hashlib.sha256(path.read_bytes()).hexdigest()),
        "fit": prob["fit"],
        "effective": effective,
        "protocols": prob["protocols"],
        "record": prob["record"],
        "record_distance": record_distance,
        "sampling": {"dt": model["dt"], "sample_every": SAMPLE_EVERY, "sample_dt": model["dt"] * SAMPLE_EVERY,
                     "n_steps": len(t) - 1, "n_samples": int(arrays["t"].size)},
        "noise": prob["noise"],
        "sectionlists": {k: v for k, v in lists.items() if v},
        "usetable": applied["usetable"],
        "neuron_version": neuron.__version__,
        "mod_files": mod_info,
        "nsec": len(secs),
        "spike_counts": [[len(s) for s in row] for row in spikes],
        "spike_times": [[t[s].tolist() for s in row] for row in spikes],
        "v_range": [[[float(r.min()), float(r.max())] for r in v] for v in v_full],
        "time": gt.time_report(t, model["dt"]),
        "wall_time_s": wall,
    }
    save_problem(spec["output"], arrays, meta)


def save_problem(output, arrays: dict, meta: dict) -> None:
    """Write the arrays and the JSON ``meta`` to a compressed npz (via a temporary name)."""
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(out.name + ".part.npz")
    np.savez_compressed(tmp_out, **arrays, meta=np.array(json.dumps(meta)))
    os.replace(tmp_out, out)


# ----------------------------------------------------------------------------------------------------------
# Parent side: one compile of the channels, one subprocess per problem
# ----------------------------------------------------------------------------------------------------------


def spec_for(prob: dict, output: Path, libraries: gm.Libraries, **extra) -> dict:
    """The worker's instructions for one problem."""
    files = gm.mod_files(prob["model"]["mods"])
    return {"problem": prob, "output": str(output), "files": [str(f) for f in files],
            "library": libraries.get(files), **extra}


def run_this(spec: dict) -> tuple[int | None, str]:
    """:func:`worker` in a fresh interpreter."""
    return gt.run_worker(spec, __file__, TIMEOUT_S)


def check(prob: dict, meta: dict) -> list[str]:
    """Problems with a finished target: soma spike counts outside a protocol's bounds."""
    problems = []
    for p, counts in zip(prob["protocols"], meta["spike_counts"], strict=True):
        n = counts[0]
        if (p["min_spikes"] is not None and n < p["min_spikes"]) or (p["max_spikes"] is not None
                                                                      and n > p["max_spikes"]):
            problems.append(f"{p['name']}: {n} soma spikes, expected [{p['min_spikes']}, {p['max_spikes']}]")
    return problems


def generate(prob: dict, out_dir: Path, libraries: gm.Libraries) -> dict:
    """Make one problem's file; returns a summary."""
    out = out_dir / f"{prob['name']}.npz"
    return gt.run_and_summarise(prob, out, spec_for(prob, out, libraries), run_this, check)


def read(path: Path) -> tuple[dict, dict]:
    """A stored problem's arrays and meta."""
    with np.load(path) as z:
        return {k: z[k] for k in z.files if k != "meta"}, json.loads(str(z["meta"]))


def compare(fresh: Path, stored: Path) -> list[str]:
    """Differences between a regenerated and a stored problem: arrays bit for bit, meta key by key."""
    if not stored.exists():
        return [f"{stored.name}: not stored"]
    (a, ma), (b, mb) = read(fresh), read(stored)
    problems = [f"{stored.name}: {key} differs" for key in ARRAYS
                if (key in a) != (key in b) or (key in a and (a[key].shape != b[key].shape
                                                              or a[key].tobytes() != b[key].tobytes()))]
    keys = (set(ma) | set(mb)) - set(UNCHECKED_META)
    problems += [f"{stored.name}: meta[{key!r}] differs" for key in sorted(keys) if ma.get(key) != mb.get(key)]
    return problems


def run_all(problems: list[dict], out_dir: Path, jobs: int) -> list[dict]:
    """Generate ``problems`` into ``out_dir`` (printing a summary of each); returns the summaries."""
    results = []
    with tempfile.TemporaryDirectory(prefix="neurax_nrnivmodl_") as tmp:
        libraries = gm.Libraries(Path(tmp))
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(generate, p, out_dir, libraries) for p in problems]
            for fut in concurrent.futures.as_completed(futures):
                res = fut.result()
                print_summary(res)
                results.append(res)
    return results


def check_stored(stored_dir: Path = OUT_DIR, problems: list[dict] | None = None, jobs: int = 1) -> list[str]:
    """Regenerate ``problems`` (default: all) in a temporary folder; the differences from the stored files."""
    problems = list(PROBLEMS) if problems is None else problems
    with tempfile.TemporaryDirectory(prefix="neurax_fit_suite_check_") as tmp:
        diffs = []
        for res in run_all(problems, Path(tmp), jobs):
            if "error" in res:
                diffs.append(f"{res['name']}: {res['error']}")
                continue
            diffs += compare(Path(res["output"]), stored_dir / Path(res["output"]).name)
        return diffs


def print_summary(res: dict) -> None:
    """One block per generated problem."""
    if "error" in res:
        print(f"ERROR  {res['name']}: {res['error']}", flush=True)
        return
    m = res["meta"]
    w = m["wall_time_s"]
    flag = "CHECK " if res["problems"] else "ok    "
    print(f"{flag}{res['name']:28s} {m['model']['ncompartments']:5d} comp  {len(m['fit']):2d} params  "
          f"{len(m['protocols'])} protocols  noise {m['noise']['sigma'] if m['noise'] else '-'}  "
          f"NEURON simulate {w['simulate']:.1f} s (subprocess {res['seconds']:.1f} s)  {res['size'] / 1e3:.0f} kB"
          + "".join(f"\n       {p['name']:28s} spikes {c}  v {[[round(x, 1) for x in r] for r in vr]}"
                    for p, c, vr in zip(m["protocols"], m["spike_counts"], m["v_range"], strict=True))
          + "".join(f"\n       ! {p}" for p in res["problems"]), flush=True)


def scan(prob: dict, protocol_name: str, amps: list[float]) -> None:
    """Print spike counts and voltage ranges of one protocol at each amplitude (every clamp gets it)."""
    with tempfile.TemporaryDirectory(prefix="neurax_fit_suite_scan_") as tmp:
        out = Path(tmp) / "scan.json"
        libraries = gm.Libraries(Path(tmp))
        rc, tail = run_this(spec_for(prob, out, libraries, scan=amps, protocol=protocol_name))
        if rc != 0 or not out.exists():
            print(f"ERROR  {prob['name']}: {tail.strip()[-1500:]}")
            return
        for row in json.loads(out.read_text())["scan"]:
            print(f"{prob['name']:28s} {protocol_name} amp {row['amp']:<6} spikes {row['spikes']}  "
                  f"vmin {[round(x, 1) for x in row['vmin']]}  vmax {[round(x, 1) for x in row['vmax']]}  "
                  f"vend {[round(x, 1) for x in row['vend']]}  {row['seconds']:.2f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="only problems whose name or morphology contains SUBSTRING")
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder for the .npz problems")
    parser.add_argument("--check", action="store_true", help="regenerate and compare with the stored problems")
    parser.add_argument("--scan", help="comma-separated amplitudes for --protocol; print spikes and voltages")
    parser.add_argument("--protocol", default="suprathreshold", help="the protocol --scan varies")
    parser.add_argument("--list", action="store_true", help="print the problems")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    problems = list(problem_by_name().values())
    if args.only:
        problems = [p for p in problems if args.only in p["name"] or args.only in p["model"]["morphology"]]
    if args.list:
        for p in problems:
            print(f"{p['name']}: {p['model']['morphology']}, {len(p['fit'])} parameters, "
                  f"{len(p['protocols'])} protocols, noise {p['noise']}\n    {p['note']}\n    "
                  + ", ".join(f"{e['key']}={e['true']:g}" for e in p["fit"]))
        return 0
    if args.scan:
        for p in problems:
            scan(p, args.protocol, [float(a) for a in args.scan.split(",")])
        return 0
    start = time.monotonic()
    if args.check:
        diffs = check_stored(args.out, problems, args.jobs)
        for d in diffs:
            print(f"DIFFERS  {d}")
        print(f"{'stored problems reproduced bit for bit' if not diffs else 'MISMATCH'} ({len(problems)} problems); "
              f"{time.monotonic() - start:.1f} s")
        return 1 if diffs else 0
    results = run_all(problems, args.out, args.jobs)
    failed = sum(bool(res.get("error") or res.get("problems")) for res in results)
    size = sum(p.stat().st_size for p in args.out.glob("*.npz")) if args.out.is_dir() else 0
    print(f"{len(results)} problems, {failed} with problems, {time.monotonic() - start:.1f} s; "
          f"{args.out} holds {size / 1e6:.2f} MB")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
