"""Generate NEURON voltage-trace references for NMODL mechanisms (``neurax simulate --mod/--mechanism/--param``).

Every *case* is a protocol written exactly in the terms of the ``neurax simulate`` command line, so the same case
can be replayed through neurax's CLI (or its Python API) and compared trace by trace::

    neurax simulate MORPHOLOGY [--nseg N | --d-lambda F] --Ra R --cm C --mod PATH ... --mechanism NAME ...
                    --param NAME=VALUE ... --celsius C --v-init MV --dt MS --tstop MS --rates table|exact
                    --iclamp 'SEC(X),DELAY,DUR,AMP' ... --record 'SEC(X)' ...

A case is a dict with those keys (``name``, ``morphology``, ``nseg``, ``d_lambda``, ``Ra``, ``cm``, ``mods``,
``mechanisms``, ``params``, ``celsius``, ``v_init``, ``dt``, ``tstop``, ``rates``, ``iclamp``, ``record``; see
:func:`case`) plus annotations the CLI ignores: ``why`` (what the case tests), ``min_spikes`` (cases meant to spike
repetitively) and ``subthreshold`` (cases that must not spike).  ``mods`` are paths relative to the repository
(``.mod`` files or folders); ``params`` are ``NAME=VALUE`` strings with NEURON's hoc names (``gbar_NaT=0.1``,
``e_pas=-70``, ``cm=2``, ``ena=50``, ``cai0_ca_ion=1e-4``, GLOBALs such as ``q10_NaT``).

The mechanisms are compiled once per distinct ``mods`` list, by ``nrnivmodl`` in a temporary folder, with the
``.mod`` files given EXPLICITLY in neurax's order: the files of a folder in sorted byte order of their names,
folders and files in the order listed.  nrnivmodl registers them in that order, so NEURON's type numbers (which
decide the order in which mechanisms are computed) follow neurax's (``nx.load_mods``); every worker checks this
and stores the type numbers in the meta data.  No build output is ever written inside the repository.

For every case this script starts a fresh Python subprocess that does, in this order::

    h.nrn_load_dll(LIBRARY)                                     # the compiled mods of the case
    Import3d as generate_traces.py (h.Import3d_SWC_read() ... instantiate(None))
    sec.Ra = Ra; sec.cm = cm                                    # every section
    sec.nseg = nseg  or  NEURON's d_lambda rule (lambda_f(100), after Ra and cm)
    sec.insert(NAME) for NAME in mechanisms                     # every section, in the listed order
    for NAME=VALUE in params:                                   # in the listed order
        cm / Ra:  sec.cm = VALUE / sec.Ra = VALUE on every section
        else:     setattr(h, NAME, VALUE)  (a GLOBAL such as q10_NaT or cai0_ca_ion);
                  if NEURON refuses ("not assignable": a RANGE variable), seg.NAME = VALUE on every segment that
                  has it (at least one must)
    h.celsius = celsius; usetable_X = 1 (table) or 0 (exact) for hh and every loaded mechanism with a TABLE
    stim = h.IClamp(sec(x)); stim.delay, stim.dur, stim.amp = ...
    h.dt = dt; h.finitialize(v_init); round(tstop / dt) times h.fadvance()   (generate_traces.simulate)

Each case is stored in ``tests/reference_neuron/mechanisms/<name>.npz`` in the format of ``traces/``
(``t``, ``v`` float64 and a JSON ``meta``: the case, NEURON version, compartments, spike counts and times as
upward crossings of 0 mV, the mod files with their SHA-256 and NEURON type numbers, wall times).  Read them with
:func:`tests.reference_neuron.trace_refs.load_mechanism_trace`.

The IClamp amplitudes of the spiking cases were chosen with ``--tune`` (each case with ``min_spikes`` is run once
per amplitude in :data:`AMPLITUDE_LADDER` and judged with ``generate_traces.spiking_ok``; the table holds
``choose_amplitude``'s pick, typed in by hand, unless the case says otherwise).

Usage::

    python tests/reference_neuron/generate_mechanisms.py [--only SUBSTRING] [--jobs N] [--out DIR]
    python tests/reference_neuron/generate_mechanisms.py --tune [--only SUBSTRING]
    python tests/reference_neuron/generate_mechanisms.py --list
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent.parent) not in sys.path:  # run as a script: make ``tests.reference_neuron`` importable
    sys.path.insert(0, str(HERE.parent.parent))

from neurax.port.run import type_orders  # noqa: E402
from tests.reference_neuron.generate_traces import (  # noqa: E402
    REPO,
    choose_amplitude,
    clamp,
    discretise,
    load_cell,
    make_clamps,
    morphology_path,
    parse_location,
    print_summary,
    run_and_summarise,
    run_worker,
    save_traces,
    simulate,
    spike_indices,
    spiking_ok,
    time_report,
)

OUT_DIR = HERE / "mechanisms"
TIMEOUT_S = 900
FORMAT_VERSION = 1

#: Amplitudes (nA) tried, in this order, by ``--tune`` (the one-compartment cell has an input resistance of
#: about 800 megohm with pas alone, so the ladder starts low).
AMPLITUDE_LADDER = (0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0,
                    3.0, 5.0)

CHANNELS = "neurax/channels"
HH_EQUIV = "tests/data/mod/hh_equiv.mod"
LEGACY_KDR = "tests/data/mod/corpus/legacy_kdr_forms.mod"
LEGACY_CAD = "tests/data/mod/corpus/legacy_cad.mod"
LEGACY_RANGE = "tests/data/mod/corpus/legacy_range_array.mod"
LEGACY_PARAMS = "tests/data/mod/corpus/legacy_param_rates.mod"
TABLE_SIDE = "tests/data/mod/corpus/table_side_effect.mod"
TABLE_SIDE_RANGE = "tests/data/mod/corpus/table_side_effect_range.mod"
OWN_CURRENT = "tests/data/mod/corpus/own_current_pool.mod"
KINETIC_TEN = "tests/data/mod/corpus/kinetic_ten_states.mod"
ONE = "tests/data/mod/one_compartment.swc"
BALL = "data/swc/ball_and_stick.swc"
C91662 = "data/swc/c91662.swc"
SOMA = "soma[0](0.5)"


# ----------------------------------------------------------------------------------------------------------
# The case table
# ----------------------------------------------------------------------------------------------------------


def case(
    name: str,
    morphology: str,
    why: str,
    *,
    mechanisms: list[str],
    iclamp: list[str],
    record: list[str],
    mods: list[str] | None = None,
    params: list[str] = (),
    nseg: int | None = None,
    d_lambda: float | None = None,
    Ra: float = 35.4,
    cm: float = 1.0,
    celsius: float = 6.3,
    v_init: float = -65.0,
    dt: float = 0.025,
    tstop: float = 100.0,
    rates: str = "table",
    min_spikes: int | None = None,
    subthreshold: bool = False,
) -> dict:
    """One case; the defaults are NEURON's (nseg 1 when neither ``nseg`` nor ``d_lambda`` is given)."""
    if nseg is not None and d_lambda is not None:
        raise ValueError(f"{name}: give nseg or d_lambda, not both")
    if nseg is None and d_lambda is None:
        nseg = 1
    if rates not in ("table", "exact"):
        raise ValueError(f"{name}: bad rates {rates!r}")
    if not 1 <= len(record) <= 3:
        raise ValueError(f"{name}: record 1 to 3 locations")
    for text in params:
        parse_param(text)
    return {
        "name": name,
        "morphology": morphology,
        "nseg": nseg,
        "d_lambda": d_lambda,
        "Ra": Ra,
        "cm": cm,
        "mods": list(mods if mods is not None else [CHANNELS]),
        "mechanisms": list(mechanisms),
        "params": list(params),
        "celsius": celsius,
        "v_init": v_init,
        "dt": dt,
        "tstop": tstop,
        "rates": rates,
        "iclamp": list(iclamp),
        "record": list(record),
        "why": why,
        "min_spikes": min_spikes,
        "subthreshold": subthreshold,
    }


def param(name: str, value: float) -> str:
    """A ``--param`` string ``NAME=VALUE`` (the float written so that it reads back exactly)."""
    return f"{name}={float(value)!r}"


def parse_param(text: str) -> tuple[str, float]:
    """``'gbar_NaT=0.1'`` -> ('gbar_NaT', 0.1)."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"bad --param {text!r}: expected NAME=VALUE")
    return name.strip(), float(value)


#: pas as every one-compartment case has it.
PAS = [param("g_pas", 1e-4), param("e_pas", -70.0)]
#: The one-compartment protocol: 34 degC, rest at -70 mV, 200 ms; a step from 20 to 180 ms.
DELAY, DUR = 20.0, 160.0


def one(name: str, why: str, mechanisms: list[str], amp: float, *, params: list[str] = (),
        min_spikes: int | None = 5, subthreshold: bool = False, iclamp: list[str] | None = None, **kwargs) -> dict:
    """A case on the one-compartment cell (soma 20 x 20 um) with pas (g 1e-4, e -70) and ``mechanisms``."""
    kwargs.setdefault("celsius", 34.0)
    kwargs.setdefault("v_init", -70.0)
    kwargs.setdefault("tstop", 200.0)
    if subthreshold:
        min_spikes = None
    return case(name, ONE, why, mechanisms=["pas", *mechanisms], params=[*PAS, *params],
                iclamp=iclamp if iclamp is not None else [clamp(SOMA, DELAY, DUR, amp)], record=[SOMA],
                min_spikes=min_spikes, subthreshold=subthreshold, **kwargs)


SPIKE = ["NaT", "Kv3_1"]
CA = ["CaHVA", "CaPool"]
GAMMA = param("gamma_CaPool", 0.05)  # 100 times the default: enough calcium to open BK
SK_PARAMS = [param("gamma_CaPool", 0.005), param("gbar_SK", 0.001)]  # 10 x the calcium, a 40th of SK's default
LIBRARY = ["NaT", "NaP", "Kv3_1", "KP", "KT", "Kv1", "Im", "Ih", "SK", "BK", "CaHVA", "CaLVA", "CaPool"]

# The amplitudes of cases with min_spikes come from --tune (see the module docstring).
CASES = [
    # --- sodium --------------------------------------------------------------------------------------------
    one("one_NaT_Kv3_1", "transient Na (TABLE, q10) with Kv3.1: repetitive spiking", SPIKE, 0.03),
    one("one_NaT_Kv3_1_subthreshold", "NaT + Kv3.1 below threshold: the gates move without a spike", SPIKE, 0.01,
        subthreshold=True),
    one("one_NaT_Kv3_1_exact", "as one_NaT_Kv3_1 with usetable_NaT = 0 (--rates exact): NaT's rate formulas",
        SPIKE, 0.03, rates="exact"),
    one("one_NaT_Kv3_1_6p3", "NaT (gbar 0.3) + Kv3.1 at celsius 6.3: NaT's TABLE at another temperature, q10 "
        "factor 0.29; a pulse train (one spike per pulse: at 6.3 degC a step gives one spike, then a plateau)",
        SPIKE, 0.2, params=[param("gbar_NaT", 0.3)], celsius=6.3, min_spikes=5,
        iclamp=[clamp(SOMA, 20.0 + 40.0 * k, 3.0, 0.2) for k in range(5)]),
    one("one_NaT_Kv3_1_dt001", "as one_NaT_Kv3_1 at dt 0.01 (100 ms, step from 10 to 90 ms)", SPIKE, 0.05, dt=0.01,
        tstop=100.0, iclamp=[clamp(SOMA, 10.0, 80.0, 0.05)]),
    one("one_NaP_subthreshold", "persistent Na (slow inactivation, mslow) with Kv3.1 below threshold: NaP "
        "amplifies the depolarisation", ["NaP", "Kv3_1"], 0.02, params=[param("gbar_NaP", 0.005)],
        subthreshold=True),
    one("one_NaP_NaT_Kv3_1", "NaP (gbar 0.005) + NaT + Kv3.1: repetitive spiking", ["NaP", *SPIKE], 0.03,
        params=[param("gbar_NaP", 0.005)]),
    one("one_NaP_NaT_Kv3_1_globals", "NaP + NaT + Kv3.1 with GLOBALs changed (q10_NaT, mslow_NaP, vhalf_Kv3_1) "
        "and ena set by --param", ["NaP", *SPIKE], 0.05,
        params=[param("q10_NaT", 2.0), param("mslow_NaP", 4.0), param("vhalf_Kv3_1", 15.0), param("ena", 55.0)]),
    # --- potassium -----------------------------------------------------------------------------------------
    one("one_NaT_KT_Kv3_1", "transient K (TABLE, vshift; gbar 0.1) in a spiking cell", [*SPIKE, "KT"], 0.03,
        params=[param("gbar_KT", 0.1)]),
    one("one_NaT_KP", "persistent K (KP, gbar 0.05) with NaT and Kv3.1", ["NaT", "KP", "Kv3_1"], 0.05,
        params=[param("gbar_KP", 0.05)]),
    one("one_NaT_Kv1_Kv3_1", "Kv1 (D-type, zeta; gbar 0.005) in a spiking cell", [*SPIKE, "Kv1"], 0.1,
        params=[param("gbar_Kv1", 0.005)]),
    one("one_NaT_Kv3_1_Im", "M current (TABLE; gbar 0.005) adapting a spike train", [*SPIKE, "Im"], 0.05,
        params=[param("gbar_Im", 0.005)]),
    one("one_K_subthreshold", "KP, KT, Kv1, Kv3.1 and Im without Na, ek -90: depolarised by a step, no spike",
        ["KP", "KT", "Kv1", "Kv3_1", "Im"], 0.05, subthreshold=True, params=[param("ek", -90.0)]),
    one("one_K_exact_ek", "as one_K_subthreshold with --rates exact (KT, Im) and ek -85, step 0.1 nA",
        ["KP", "KT", "Kv1", "Kv3_1", "Im"], 0.1, subthreshold=True, rates="exact", params=[param("ek", -85.0)]),
    # --- Ih ------------------------------------------------------------------------------------------------
    one("one_Ih_sag", "Ih (nonspecific current, ehcn; gbar 5e-4) with a hyperpolarising step: sag and rebound",
        ["Ih"], -0.05, params=[param("gbar_Ih", 5e-4)], subthreshold=True),
    one("one_Ih_rebound_spike", "Ih (ehcn_Ih -30) with NaT + Kv3.1: one rebound spike after a hyperpolarising "
        "step", ["Ih", *SPIKE], -0.1, params=[param("gbar_Ih", 5e-4), param("ehcn_Ih", -30.0)], min_spikes=None),
    # --- calcium ---------------------------------------------------------------------------------------------
    one("one_CaHVA_CaPool", "high-voltage-activated Ca with the pool (cai written, eca by Nernst) in a spiking "
        "cell", [*SPIKE, *CA], 0.03),
    one("one_CaLVA_CaPool", "T-type Ca (TABLE) with the pool in a spiking cell", [*SPIKE, "CaLVA", "CaPool"], 0.03),
    one("one_CaLVA_CaPool_exact", "as one_CaLVA_CaPool with --rates exact (usetable_CaLVA and usetable_NaT 0)",
        [*SPIKE, "CaLVA", "CaPool"], 0.03, rates="exact"),
    one("one_Ca_subthreshold", "CaHVA + CaLVA + CaPool without Na/K: depolarised, no spike; cai0_ca_ion and "
        "decay_CaPool set", ["CaHVA", "CaLVA", "CaPool"], 0.01, subthreshold=True,
        params=[param("cai0_ca_ion", 1e-4), param("decay_CaPool", 40.0)]),
    # --- calcium-activated potassium -------------------------------------------------------------------------
    one("one_SK", "SK (cai-gated; gbar 0.001) with CaHVA + CaPool (gamma 0.005, 10 x default): adapting spike "
        "train (0.2 nA: 8 spikes; the tuned 0.05 gives 4)", [*SPIKE, *CA, "SK"], 0.2, params=SK_PARAMS,
        min_spikes=3),
    one("one_BK", "BK (cai- and voltage-gated; gbar 0.1) with CaHVA + CaPool (gamma 0.05, 100 x default)",
        [*SPIKE, *CA, "BK"], 0.05, params=[GAMMA, param("gbar_BK", 0.1)]),
    one("one_SK_BK_subthreshold", "SK + BK + CaHVA + CaPool without Na (gamma 0.05, cai0 2e-4): no spike",
        ["SK", "BK", *CA], 0.05, subthreshold=True, params=[GAMMA, param("cai0_ca_ion", 2e-4)]),
    one("one_SK_order_listed", "as one_SK at the tuned 0.05 nA, with the mods listed one by one in an order that "
        "is not byte order (SK, CaPool, CaHVA, NaT, Kv3_1): NEURON's type numbers and neurax's follow the listed "
        "order (the trace itself differs from the byte-order build's by rounding only: 8.5e-8 mV in NEURON)",
        [*SPIKE, *CA, "SK"], 0.05, params=SK_PARAMS, min_spikes=3,
        mods=[f"{CHANNELS}/{n}.mod" for n in ("SK", "CaPool", "CaHVA", "NaT", "Kv3_1")]),
    one("one_cm_param", "NaT + Kv3.1 with cm=2 given by --param (after discretisation) and ek by --param",
        SPIKE, 0.05, params=[param("cm", 2.0), param("ek", -80.0)]),
    # --- the whole library -------------------------------------------------------------------------------------
    one("one_library_low", "every library channel at its default density on one compartment, step 0.75 nA "
        "(the tuned amplitude: one rung above the onset of repetitive firing)", LIBRARY, 0.75),
    one("one_library_high", "every library channel at its default density on one compartment, step 2 nA (22 "
        "spikes)",
        LIBRARY, 2.0),
    case("ball_library_nseg5", BALL, "every library channel everywhere on the ball-and-stick cell, nseg 5, "
         "stimulus at the soma", mechanisms=["pas", *LIBRARY], params=PAS, nseg=5,
         iclamp=[clamp(SOMA, DELAY, DUR, 0.5)], record=[SOMA, "dend[0](0.5)", "dend[0](1)"], celsius=34.0,
         v_init=-70.0, tstop=200.0, min_spikes=5),
    # --- forms of older published files (tests/data/mod/corpus/legacy_*.mod) -------------------------------
    one("one_legacy_forms", "NaT + Kv3.1 + CaHVA with legacy_kdr_forms (TABLE over ASSIGNED arrays, a SOLVE'd "
        "PROCEDURE, VERBATIM return 0), legacy_cad (cai written by assignment from a derivimplicit STATE) and "
        "legacy_range_array (RANGE arrays filled in a FROM loop), legacy_param_rates (PARAMETERs the blocks assign)",
        [*SPIKE, "CaHVA", "legacy_kdr_forms", "legacy_cad", "legacy_range_array", "legacy_param_rates"], 0.075,
        params=[param("gbar_CaHVA", 0.005)], mods=[CHANNELS, LEGACY_KDR, LEGACY_CAD, LEGACY_RANGE, LEGACY_PARAMS]),
    # --- what nocmodl does that the files do not say (found on published files: ModelDB 135787, 145672, 116740)
    one("one_nocmodl_forms", "NaT + Kv3.1 with table_side_effect (a GLOBAL set by the TABLE'd procedure's body, "
        "PARAMETERs and a START value with more than six digits, usetable read), own_current_pool (a mechanism's own "
        "ica integrated in its state pass; a GLOBAL named cao) and kinetic_ten_states (ten-state KINETIC scheme, "
        "STEADYSTATE sparse)", [*SPIKE, "table_side_effect", "own_current_pool", "kinetic_ten_states"], 0.03,
        mods=[CHANNELS, TABLE_SIDE, OWN_CURRENT, KINETIC_TEN]),
    one("one_nocmodl_forms_exact", "as one_nocmodl_forms with --rates exact (usetable 0: the tabled procedure's "
        "body runs at every call)", [*SPIKE, "table_side_effect", "own_current_pool", "kinetic_ten_states"], 0.03,
        rates="exact", mods=[CHANNELS, TABLE_SIDE, OWN_CURRENT, KINETIC_TEN]),
    case("ball_table_side_effect_range", BALL, "hh with table_side_effect_range (gbar 0.05) on the ball-and-stick "
         "cell, nseg 5: the TABLE'd procedure's RANGE tadj is set in the first instance only (soma[0](0.1)), as "
         "NEURON builds the table from that instance's INITIAL", mods=[TABLE_SIDE_RANGE],
         mechanisms=["hh", "table_side_effect_range"], params=[param("gbar_table_side_effect_range", 0.05)], nseg=5,
         iclamp=[clamp(SOMA, 5.0, 30.0, 0.2)], record=[SOMA, "soma[0](0.1)", "dend[0](0.5)"], celsius=16.0,
         tstop=40.0, min_spikes=2),
    # --- the project's NMODL twin of hh on a large cell -----------------------------------------------------
    case("c91662_hh_equiv_table", C91662, "tests/data/mod/hh_equiv.mod everywhere on c91662, d_lambda 0.1, Ra 100: "
         "the protocol of traces/c91662_hh_dlambda (built-in hh)", mods=[HH_EQUIV], mechanisms=["hh_equiv"],
         d_lambda=0.1, Ra=100.0, iclamp=[clamp(SOMA, 5.0, 90.0, 1.0)],
         record=[SOMA, "apic[43](1)", "axon[0](1)"], min_spikes=5),
    case("c91662_hh_equiv_exact", C91662, "as c91662_hh_equiv_table with usetable_hh_equiv = 0 (--rates exact)",
         mods=[HH_EQUIV], mechanisms=["hh_equiv"], d_lambda=0.1, Ra=100.0, rates="exact",
         iclamp=[clamp(SOMA, 5.0, 90.0, 1.0)], record=[SOMA, "apic[43](1)", "axon[0](1)"], min_spikes=5),
]


def case_by_name() -> dict[str, dict]:
    """The table as name -> case (names are unique)."""
    table = {c["name"]: c for c in CASES}
    if len(table) != len(CASES):
        raise ValueError("duplicate case names")
    return table


def mod_files(mods: list[str]) -> list[Path]:
    """The ``.mod`` files of ``mods`` (repository-relative) in neurax's order: the files of a folder in sorted
    byte order of their names, folders and files in the order listed."""
    files = []
    for rel in mods:
        path = REPO / rel
        if path.is_dir():
            files.extend(sorted((p for p in path.iterdir() if p.suffix == ".mod"), key=lambda p: os.fsencode(p.name)))
        else:
            files.append(path)
    return files


def declaration(path: Path) -> tuple[str, str] | None:
    """``(keyword, name)`` of the mechanism a ``.mod`` file defines (SUFFIX, POINT_PROCESS or ARTIFICIAL_CELL), or
    None."""
    text = re.sub(r"(?s)\bCOMMENT\b.*?\bENDCOMMENT\b", "", path.read_text(errors="replace"))
    text = re.sub(r":[^\n]*", "", text)  # line comments; the keyword may follow others (THREADSAFE SUFFIX hd)
    m = re.search(r"\b(SUFFIX|POINT_PROCESS|ARTIFICIAL_CELL)\s+(\w+)", text)
    return (m.group(1), m.group(2)) if m else None


def suffix_of(path: Path) -> str:
    """The mechanism name a ``.mod`` file defines (SUFFIX or POINT_PROCESS)."""
    found = declaration(path)
    if found is None:
        raise ValueError(f"{path}: no SUFFIX")
    return found[1]


def cli_args(c: dict) -> list[str]:
    """The ``neurax simulate`` arguments that replay case ``c`` (without ``--out``)."""
    args = [str(morphology_path(c["morphology"]))]
    args += ["--nseg", str(c["nseg"])] if c["nseg"] is not None else ["--d-lambda", repr(c["d_lambda"])]
    args += ["--Ra", str(c["Ra"]), "--cm", str(c["cm"])]
    for rel in c["mods"]:
        args += ["--mod", str(REPO / rel)]
    for name in c["mechanisms"]:
        args += ["--mechanism", name]
    for text in c["params"]:
        args += ["--param", text]
    for key in ("celsius", "v_init", "dt", "tstop", "rates"):
        args += ["--" + key.replace("_", "-"), str(c[key])]
    for stim in c["iclamp"]:
        args += ["--iclamp", stim]
    for loc in c["record"]:
        args += ["--record", loc]
    return args


# ----------------------------------------------------------------------------------------------------------
# Compiling: nrnivmodl in a temporary folder, files named explicitly in neurax's order
# ----------------------------------------------------------------------------------------------------------


def compile_mods(files: list[Path], folder: Path) -> Path:
    """Compile ``files`` with nrnivmodl in ``folder`` (given in this order); returns ``libnrnmech.so``."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for f in files:
        if (folder / f.name).exists():
            raise ValueError(f"two .mod files named {f.name}")
        shutil.copy(f, folder / f.name)
        names.append(f.name)
    nrnivmodl = shutil.which("nrnivmodl") or str(Path(sys.executable).with_name("nrnivmodl"))
    proc = subprocess.run([nrnivmodl, *names], cwd=folder, capture_output=True, text=True)
    lib = next(iter(folder.glob("*/libnrnmech.so")), None) or next(iter(folder.glob("*/.libs/libnrnmech.so")), None)
    if proc.returncode != 0 or lib is None:
        raise RuntimeError(f"nrnivmodl failed in {folder}:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return lib


# ----------------------------------------------------------------------------------------------------------
# Worker side: runs inside the subprocess, talks to NEURON
# ----------------------------------------------------------------------------------------------------------


def set_param(h, secs: list, name: str, value: float) -> str:
    """``--param NAME=VALUE`` in NEURON; returns where it went (``section``, ``global`` or ``segments``)."""
    if name in ("cm", "Ra"):
        for sec in secs:
            setattr(sec, name, value)
        return "section"
    try:
        setattr(h, name, value)
        return "global"
    except (TypeError, LookupError):  # "not assignable": a RANGE variable (or an ion's); unknown names fall through
        pass
    hits = 0
    for sec in secs:
        for seg in sec:
            if hasattr(seg, name):
                setattr(seg, name, value)
                hits += 1
    if not hits:
        raise ValueError(f"--param {name}: neither a GLOBAL nor a RANGE variable of any segment")
    return "segments"


def configure(h, secs: list, c: dict, mechanism_names: list[str]) -> tuple[list[int], dict]:
    """Ra, cm, nseg, the mechanisms, the params, celsius and the TABLE switches; returns (nseg, param targets)."""
    discretise(h, secs, c)
    for sec in secs:
        for name in c["mechanisms"]:
            sec.insert(name)
    targets = {}
    for text in c["params"]:
        name, value = parse_param(text)
        targets[name] = set_param(h, secs, name, value)
    h.celsius = c["celsius"]
    usetable = {}
    for name in ["hh", *mechanism_names]:
        if hasattr(h, f"usetable_{name}"):
            setattr(h, f"usetable_{name}", 1 if c["rates"] == "table" else 0)
            usetable[name] = int(getattr(h, f"usetable_{name}"))
    return [int(sec.nseg) for sec in secs], {"params": targets, "usetable": usetable}


def worker(spec: dict) -> None:
    """Run one case (``spec["mode"]`` = ``run``) or its amplitude search (``tune``) and write the result."""
    import neuron
    from neuron import h

    c = spec["case"]
    files = [Path(f) for f in spec["files"]]
    if files and not h.nrn_load_dll(spec["library"]):
        raise RuntimeError(f"could not load {spec['library']}")
    names = [suffix_of(f) for f in files]
    types = type_orders(h)  # NEURON's type numbers, read from the session
    listed = [types[n] for n in names]
    if listed != sorted(listed) or len(set(listed)) != len(listed):
        raise RuntimeError(f"NEURON's type order {dict(zip(names, listed, strict=True))} is not the listed order")
    path = morphology_path(c["morphology"])
    wall = {}
    with tempfile.TemporaryDirectory(prefix="neurax_mech_") as tmp:
        start = time.perf_counter()
        secs, _ = load_cell(h, path, Path(tmp))
        wall["import"] = time.perf_counter() - start
    start = time.perf_counter()
    by_name = {s.name(): s for s in secs}
    h.CVode().active(0)
    h.secondorder = 0
    nseg, applied = configure(h, secs, c, names)
    stims = make_clamps(h, by_name, c)
    segs = []
    for loc in c["record"]:
        sec, x = parse_location(loc)
        segs.append(by_name[sec](x))
    wall["setup"] = time.perf_counter() - start
    if spec["mode"] == "tune":
        tuned = [stim for stim in stims if stim.amp > 0]
        tried = []
        for amp in AMPLITUDE_LADDER:
            for stim in tuned:
                stim.amp = amp
            t, v, _ = simulate(h, segs, c)
            tried.append({"amp": amp, "spikes": len(spike_indices(v[0])), "ok": bool(spiking_ok(t, v[0], c))})
        Path(spec["output"]).write_text(json.dumps({"name": c["name"], "tried": tried}))
        return
    t, v, wall["simulate"] = simulate(h, segs, c)
    spikes = [spike_indices(row) for row in v]
    meta = {
        "format_version": FORMAT_VERSION,
        "case": c,
        "neuron_version": neuron.__version__,
        "morphology_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "mod_files": [{"file": str(f.relative_to(REPO) if f.is_relative_to(REPO) else f), "mechanism": n,
                       "type": types[n],
                       "sha256": hashlib.sha256(f.read_bytes()).hexdigest()}
                      for f, n in zip(files, names, strict=True)],
        "applied": applied,
        "nsec": len(secs),
        "ncompartments": int(sum(nseg)),
        "nseg": nseg,
        "n_steps": len(t) - 1,
        "record": c["record"],
        "spike_counts": [len(s) for s in spikes],
        "spike_times": [t[s].tolist() for s in spikes],
        "v_range": [[float(row.min()), float(row.max())] for row in v],
        "time": time_report(t, c["dt"]),
        "wall_time_s": wall,
    }
    if c["min_spikes"] is not None:
        meta["spiking_ok"] = bool(spiking_ok(t, v[0], c))
    save_traces(spec["output"], t, v, meta)


# ----------------------------------------------------------------------------------------------------------
# Parent side: one compile per mods list, one subprocess per case
# ----------------------------------------------------------------------------------------------------------


def check(c: dict, meta: dict) -> list[str]:
    """Problems with a finished reference: a spiking case that does not spike, a subthreshold one that does."""
    problems = []
    if c["min_spikes"] is not None and not meta.get("spiking_ok"):
        problems.append(f"expected >= {c['min_spikes']} spikes without block, got {meta['spike_counts'][0]}")
    if c["subthreshold"] and any(meta["spike_counts"]):
        problems.append(f"subthreshold case spikes: {meta['spike_counts']}")
    return problems


class Libraries:
    """The compiled mechanism libraries, one per distinct list of .mod files (made on first use)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.built: dict[tuple[str, ...], str] = {}
        self.lock = threading.Lock()

    def get(self, files: list[Path]) -> str:
        key = tuple(str(f) for f in files)
        if not key:
            return ""
        with self.lock:
            if key not in self.built:
                folder = self.root / f"lib{len(self.built)}"
                self.built[key] = str(compile_mods(files, folder))
            return self.built[key]


def spec_for(c: dict, mode: str, output: Path, libraries: Libraries) -> dict:
    files = mod_files(c["mods"])
    return {"mode": mode, "case": c, "output": str(output), "files": [str(f) for f in files],
            "library": libraries.get(files)}


def run_this(spec: dict) -> tuple[int | None, str]:
    return run_worker(spec, __file__, TIMEOUT_S)


def generate(c: dict, out_dir: Path, libraries: Libraries) -> dict:
    """Make the reference for one case; returns a summary."""
    out = out_dir / f"{c['name']}.npz"
    return run_and_summarise(c, out, spec_for(c, "run", out, libraries), run_this, check)


def tune(c: dict, libraries: Libraries) -> dict:
    """Run the amplitude search for one case; returns ``{"name", "tried": [...]}`` or an error."""
    with tempfile.TemporaryDirectory(prefix="neurax_tune_") as tmp:
        out = Path(tmp) / "tune.json"
        rc, tail = run_this(spec_for(c, "tune", out, libraries))
        if rc != 0 or not out.exists():
            return {"name": c["name"], "error": f"worker failed (returncode {rc}): {tail.strip()[-1500:]}"}
        return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="only cases whose name contains SUBSTRING")
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
        cases = [c for c in cases if args.only in c["name"]]
    if args.list:
        for c in cases:
            print(f"{c['name']}: {c['why']}\n    neurax simulate " + shlex.join(cli_args(c)))
        return 0
    start = time.monotonic()
    failed = 0
    with tempfile.TemporaryDirectory(prefix="neurax_nrnivmodl_") as tmp:
        libraries = Libraries(Path(tmp))
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            if args.tune:
                futures = [pool.submit(tune, c, libraries) for c in cases if c["min_spikes"] is not None]
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
                futures = [pool.submit(generate, c, args.out, libraries) for c in cases]
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
