"""Generate NEURON fitting targets: voltage traces of real cells with NON-default parameters per section list.

A fit in neurax must recover these parameters by gradient descent from the traces alone.  Every *target* is a
dict (see :func:`target`)::

    {"name", "morphology" (relative to the shared morphologies folder), "nseg" or "d_lambda", "Ra", "cm",
     "mechanisms": [{"name": "hh" | "pas", "on": SECTION_LIST, "params": {...}}, ...],
     "celsius", "v_init", "dt", "tstop", "rates": "table" | "exact",
     "iclamp": ["SEC(X),DELAY,DUR,AMP", ...], "record": ["SEC(X)", ...]}

``Ra`` and ``cm`` take one value on every section.  The ``mechanisms`` are applied in order, as NEURON users set
range variables: ``sec.insert(name)`` on every section of the list (a no-op where it is already inserted), then
``seg.<param>_<name> = value`` on every segment of those sections; a later entry overrides an earlier one where
their lists overlap (e.g. hh on ``all`` with ``gl``, then ``gnabar`` on ``somatic`` only).  Parameters that no
entry sets keep NEURON's defaults.  Section lists are derived from section names exactly as neurax derives them
(``neurax.Morphology.sectionlists``): ``all`` = every section, ``somatic`` = ``soma[*]``, ``axonal`` =
``axon[*]``, ``basal`` = ``dend[*]`` (only ``dend``, not ``dend_5``), ``apical`` = ``apic[*]``, and every other
base name (``dend_5``) is a list of its own.

Every target runs in a fresh Python subprocess with the approach (and the helper functions) of
``generate_traces.py``::

    h.load_file("stdlib.hoc"); h.load_file("import3d.hoc")
    r = h.Import3d_SWC_read(); r.input(path); h.Import3d_GUI(r, False).instantiate(None)
    h.CVode().active(0); h.secondorder = 0
    sec.Ra = Ra; sec.cm = cm                                   # every section
    sec.nseg = nseg  or  int((L / (d_lambda * h.lambda_f(100, sec=sec)) + .9) / 2) * 2 + 1   # after Ra, cm
    for m in mechanisms: sec.insert(m.name); seg.<p>_<m.name> = value    # sections of m.on, in order
    h.celsius = celsius; h.usetable_hh = 1 (table) or 0 (exact)
    stim = h.IClamp(sec(x)); stim.delay, stim.dur, stim.amp = ...
    h.dt = dt; h.finitialize(v_init); then round(tstop / dt) times h.fadvance()    # never h.run()

Each target is stored in ``tests/reference_neuron/fit_targets/<name>.npz`` (compressed): ``t`` (n_steps + 1,),
``v`` (n_record, n_steps + 1) float64 in the order of ``target["record"]``, and ``meta``, a JSON string with:

* ``target``: the target dict (plus the annotations ``why`` and ``min_spikes``);
* ``true_params``: the flat dict of what the target sets, ``"<mech>.<param>@<list>"`` -> value plus ``"Ra"`` and
  ``"cm"`` (e.g. ``{"hh.gnabar@somatic": 0.15, ..., "Ra": 120.0, "cm": 1.3}``); a key's value holds on every
  section of its list that no later entry sets the same parameter on;
* ``effective_params``: read back from NEURON after setup, per non-empty list other than ``all`` (``somatic``,
  ``basal``, ...), for every ``<mech>.<param>`` any entry sets: the value if it is uniform on that list, else
  ``{"min", "max"}``; ``null`` where the mechanism is missing from some section of the list;
* ``neuron_version``, ``morphology_sha256``, ``nsec``, ``ncompartments`` (sum of nseg), ``nseg`` (per section,
  ``h.allsec()`` order), ``sectionlists`` (list -> section names), ``n_steps``, ``record``, ``spike_counts`` and
  ``spike_times`` per recording (upward crossings of 0 mV), ``time`` (h.t vs k * dt) and ``wall_time_s``
  (import, setup, simulate: the fadvance loop including the Python-side reads of seg.v).

Usage::

    python tests/reference_neuron/generate_fit_targets.py [--only SUBSTRING] [--jobs N] [--out DIR]
    python tests/reference_neuron/generate_fit_targets.py --scan 0.1,0.2,0.3 --only fit_pvalb   # amplitude scan
    python tests/reference_neuron/generate_fit_targets.py --list
"""

from __future__ import annotations

import argparse
import concurrent.futures
import copy
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

try:  # imported as part of the test package
    from tests.reference_neuron import generate_traces as gt
except ImportError:  # run as a script (its folder is sys.path[0])
    import generate_traces as gt

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "fit_targets"
TIMEOUT_S = 600
FORMAT_VERSION = 1

#: Parameters each mechanism accepts in ``params`` (NEURON range variable = ``<param>_<mechanism>``).
MECHANISM_PARAMS = {"hh": ("gnabar", "gkbar", "gl", "el"), "pas": ("g", "e")}

#: Standard section lists and the base name of their sections (as ``neurax.morphology.STANDARD_LISTS``).
STANDARD_LISTS = {"somatic": "soma", "axonal": "axon", "basal": "dend", "apical": "apic"}

clamp = gt.clamp
SOMA = gt.SOMA


# ----------------------------------------------------------------------------------------------------------
# The target table
# ----------------------------------------------------------------------------------------------------------


def mech(name: str, on: str, **params: float) -> dict:
    """One ``mechanisms`` entry."""
    if name not in MECHANISM_PARAMS:
        raise ValueError(f"unknown mechanism {name!r}")
    bad = set(params) - set(MECHANISM_PARAMS[name])
    if bad:
        raise ValueError(f"{name}: unknown parameters {sorted(bad)}")
    return {"name": name, "on": on, "params": {k: float(v) for k, v in params.items()}}


def target(
    name: str,
    morphology: str,
    why: str,
    *,
    mechanisms: list[dict],
    iclamp: list[str],
    record: list[str],
    Ra: float,
    cm: float,
    nseg: int | None = None,
    d_lambda: float | None = None,
    celsius: float = 6.3,
    v_init: float = -65.0,
    dt: float = 0.025,
    tstop: float = 50.0,
    rates: str = "table",
    min_spikes: int | None = None,
) -> dict:
    """One target (give exactly one of ``nseg`` and ``d_lambda``)."""
    if (nseg is None) == (d_lambda is None):
        raise ValueError(f"{name}: give nseg or d_lambda")
    if rates not in ("table", "exact"):
        raise ValueError(f"{name}: bad rates {rates!r}")
    if not 1 <= len(record) <= 5:
        raise ValueError(f"{name}: record 1 to 5 locations")
    return {
        "name": name,
        "morphology": morphology,
        "nseg": nseg,
        "d_lambda": d_lambda,
        "Ra": float(Ra),
        "cm": float(cm),
        "mechanisms": copy.deepcopy(mechanisms),
        "celsius": float(celsius),
        "v_init": float(v_init),
        "dt": float(dt),
        "tstop": float(tstop),
        "rates": rates,
        "iclamp": list(iclamp),
        "record": list(record),
        "why": why,
        "min_spikes": min_spikes,
    }


TARGETS = [
    target(
        "fit_pvalb",
        "allen_bmtk/Pvalb_469628681_m.swc",
        "hh on every section with distinct gnabar/gkbar/gl on somatic, basal and axonal (9 + Ra + cm = 11 "
        "parameters); soma step (spikes) then a hyperpolarising soma pulse (passive response)",
        mechanisms=[
            mech("hh", "somatic", gnabar=0.15, gkbar=0.045, gl=4e-4),
            mech("hh", "basal", gnabar=0.08, gkbar=0.03, gl=2e-4),
            mech("hh", "axonal", gnabar=0.25, gkbar=0.06, gl=5e-4),
        ],
        Ra=120.0,
        cm=1.3,
        d_lambda=0.1,
        tstop=60.0,
        iclamp=[clamp(SOMA, 5.0, 35.0, 0.3), clamp(SOMA, 45.0, 10.0, -0.2)],
        record=[SOMA, "dend[29](0.5)", "dend[29](1)", "dend[35](1)", "axon[0](1)"],
        min_spikes=3,
    ),
    target(
        "fit_ball",
        "arbor/ball_and_stick.swc",
        "hh on the soma, pas with non-default g and e on the dendrite (gnabar, gkbar, g, e, Ra, cm = 6 "
        "parameters); soma step (spikes) then a hyperpolarising pulse at the dendrite's end",
        mechanisms=[
            mech("hh", "somatic", gnabar=0.14, gkbar=0.042),
            mech("pas", "basal", g=5e-4, e=-72.0),
        ],
        Ra=150.0,
        cm=1.4,
        d_lambda=0.1,
        tstop=50.0,
        iclamp=[clamp(SOMA, 3.0, 30.0, 0.2), clamp("dend[0](1)", 38.0, 10.0, -0.05)],
        record=[SOMA, "dend[0](0.5)", "dend[0](1)"],
        min_spikes=3,
    ),
    target(
        "fit_c91662_passive",
        "nrn/c91662.swc",
        "pas everywhere with e, then g per list (somatic, basal, apical, axonal), Ra, cm (7 parameters); "
        "depolarising soma step, then a hyperpolarising step at a distal apical tip",
        mechanisms=[
            mech("pas", "all", e=-68.0),
            mech("pas", "somatic", g=3e-4),
            mech("pas", "basal", g=1.2e-4),
            mech("pas", "apical", g=6e-5),
            mech("pas", "axonal", g=2e-4),
        ],
        Ra=90.0,
        cm=1.5,
        d_lambda=1.0,
        tstop=60.0,
        iclamp=[clamp(SOMA, 5.0, 25.0, 0.3), clamp("apic[43](1)", 35.0, 15.0, -0.01)],
        record=[SOMA, "apic[43](1)", "dend[35](1)", "apic[43](0.5)", "axon[0](1)"],
    ),
]


def target_by_name() -> dict[str, dict]:
    """The table as name -> target."""
    table = {t["name"]: t for t in TARGETS}
    if len(table) != len(TARGETS):
        raise ValueError("duplicate target names")
    return table


def true_params(c: dict) -> dict[str, float]:
    """The flat dict of the parameters a target sets: ``"<mech>.<param>@<list>"`` (later wins), Ra, cm."""
    out: dict[str, float] = {}
    for m in c["mechanisms"]:
        for p, value in m["params"].items():
            out[f"{m['name']}.{p}@{m['on']}"] = float(value)
    out["Ra"] = float(c["Ra"])
    out["cm"] = float(c["cm"])
    return out


def section_lists(names: list[str]) -> dict[str, list[str]]:
    """Section lists from section names, as neurax derives them (see the module docstring)."""
    lists: dict[str, list[str]] = {"all": list(names), **{k: [] for k in STANDARD_LISTS}}
    reverse = {base: lst for lst, base in STANDARD_LISTS.items()}
    for n in names:
        base = n.split("[", 1)[0]
        lists.setdefault(reverse.get(base, base), []).append(n)
    return lists


# ----------------------------------------------------------------------------------------------------------
# Worker side: runs inside the subprocess, talks to NEURON
# ----------------------------------------------------------------------------------------------------------


def configure(h, secs: list, c: dict, lists: dict[str, list[str]]) -> list[int]:
    """Ra, cm, nseg (after Ra/cm), the mechanisms in order, celsius, the hh table switch; returns nseg."""
    by_name = {s.name(): s for s in secs}
    gt.discretise(h, secs, c)
    for m in c["mechanisms"]:
        if m["on"] not in lists or not lists[m["on"]]:
            raise ValueError(f"{c['name']}: section list {m['on']!r} is empty or missing")
        for name in lists[m["on"]]:
            sec = by_name[name]
            sec.insert(m["name"])
            for seg in sec:
                for p, value in m["params"].items():
                    setattr(seg, f"{p}_{m['name']}", value)
    h.celsius = c["celsius"]
    h.usetable_hh = 1 if c["rates"] == "table" else 0
    return [int(sec.nseg) for sec in secs]


def read_back(secs: list, c: dict, lists: dict[str, list[str]]) -> dict:
    """Per non-empty list (not ``all``) and set parameter: the value NEURON holds (see the module docstring)."""
    by_name = {s.name(): s for s in secs}
    keys = sorted({(m["name"], p) for m in c["mechanisms"] for p in m["params"]})
    out: dict[str, object] = {}
    for lst, names in lists.items():
        if lst == "all" or not names:
            continue
        for mname, p in keys:
            values = []
            missing = False
            for n in names:
                sec = by_name[n]
                if not sec.has_membrane(mname):
                    missing = True
                    break
                values += [getattr(seg, f"{p}_{mname}") for seg in sec]
            key = f"{mname}.{p}@{lst}"
            if missing:
                out[key] = None
            elif min(values) == max(values):
                out[key] = float(values[0])
            else:
                out[key] = {"min": float(min(values)), "max": float(max(values))}
    return out


def check_true_params(secs: list, c: dict, lists: dict[str, list[str]]) -> None:
    """Every true parameter holds in NEURON on the sections of its list that no later entry overrides."""
    by_name = {s.name(): s for s in secs}
    for i, m in enumerate(c["mechanisms"]):
        for p, value in m["params"].items():
            later = {n for m2 in c["mechanisms"][i + 1 :] if m2["name"] == m["name"] and p in m2["params"]
                     for n in lists[m2["on"]]}
            for n in lists[m["on"]]:
                if n in later:
                    continue
                for seg in by_name[n]:
                    got = getattr(seg, f"{p}_{m['name']}")
                    if got != value:
                        raise RuntimeError(f"{n}: {p}_{m['name']} is {got}, expected {value}")
    for sec in secs:
        if sec.Ra != c["Ra"] or any(seg.cm != c["cm"] for seg in sec):
            raise RuntimeError(f"{sec.name()}: Ra/cm not as set")


def worker(spec: dict) -> None:
    """Run one target (or, with ``spec["scan"]``, an amplitude scan of its first depolarising clamp)."""
    import neuron
    from neuron import h

    c = spec["target"]
    path = gt.morphology_path(c["morphology"])
    wall = {}
    with tempfile.TemporaryDirectory(prefix="neurax_fit_") as tmp:
        start = time.perf_counter()
        secs, _ = gt.load_cell(h, path, Path(tmp))
        wall["import"] = time.perf_counter() - start
    start = time.perf_counter()
    by_name = {s.name(): s for s in secs}
    lists = section_lists([s.name() for s in secs])
    h.CVode().active(0)
    h.secondorder = 0
    nseg = configure(h, secs, c, lists)
    check_true_params(secs, c, lists)
    effective = read_back(secs, c, lists)
    stims = gt.make_clamps(h, by_name, c)
    segs = []
    for loc in c["record"]:
        sec, x = gt.parse_location(loc)
        segs.append(by_name[sec](x))
    wall["setup"] = time.perf_counter() - start
    if spec.get("scan"):
        stim = next(s for s in stims if s.amp > 0)
        rows = []
        for amp in spec["scan"]:
            stim.amp = amp
            t, v, sec_s = gt.simulate(h, segs, c)
            rows.append({"amp": amp, "spikes": [len(gt.spike_indices(r)) for r in v], "seconds": sec_s,
                         "vmin": [float(r.min()) for r in v], "vmax": [float(r.max()) for r in v]})
        Path(spec["output"]).write_text(json.dumps({"name": c["name"], "scan": rows}))
        return
    t, v, wall["simulate"] = gt.simulate(h, segs, c)
    spikes = [gt.spike_indices(row) for row in v]
    meta = {
        "format_version": FORMAT_VERSION,
        "target": c,
        "true_params": true_params(c),
        "effective_params": effective,
        "neuron_version": neuron.__version__,
        "morphology_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "nsec": len(secs),
        "ncompartments": int(sum(nseg)),
        "nseg": nseg,
        "sectionlists": {k: v for k, v in lists.items() if v},
        "n_steps": len(t) - 1,
        "record": c["record"],
        "spike_counts": [len(s) for s in spikes],
        "spike_times": [t[s].tolist() for s in spikes],
        "time": gt.time_report(t, c["dt"]),
        "wall_time_s": wall,
    }
    gt.save_traces(spec["output"], t, v, meta)


# ----------------------------------------------------------------------------------------------------------
# Parent side: one subprocess per target
# ----------------------------------------------------------------------------------------------------------


def run_worker(spec: dict) -> tuple[int | None, str]:
    """Run :func:`worker` in a fresh interpreter; returns (return code or None on timeout, output tail)."""
    return gt.run_worker(spec, script=__file__, timeout=TIMEOUT_S)


def check(c: dict, meta: dict) -> list[str]:
    """Problems with a finished target: too few soma spikes, or NEURON holding other values than the table."""
    problems = []
    if c["min_spikes"] is not None and meta["spike_counts"][0] < c["min_spikes"]:
        problems.append(f"expected >= {c['min_spikes']} soma spikes, got {meta['spike_counts'][0]}")
    for key, value in meta["true_params"].items():
        if "@" in key and key.rsplit("@", 1)[1] != "all" and meta["effective_params"].get(key) != value:
            problems.append(f"{key}: table {value}, NEURON {meta['effective_params'].get(key)}")
    return problems


def generate(c: dict, out_dir: Path) -> dict:
    """Make one target; returns a summary."""
    out = out_dir / f"{c['name']}.npz"
    return gt.run_and_summarise(c, out, {"target": c, "output": str(out)}, run_worker, check)


def print_summary(res: dict) -> None:
    """One block per generated target."""
    if "error" in res:
        print(f"ERROR  {res['name']}: {res['error']}", flush=True)
        return
    m = res["meta"]
    w = m["wall_time_s"]
    flag = "CHECK " if res["problems"] else "ok    "
    print(
        f"{flag}{res['name']:20s} {m['ncompartments']:4d} comp  {m['n_steps']} steps  spikes {m['spike_counts']}  "
        f"NEURON import {w['import']:.2f} s setup {w['setup']:.3f} s simulate {w['simulate']:.2f} s "
        f"(subprocess {res['seconds']:.1f} s)  {res['size'] / 1e3:.0f} kB\n       true {m['true_params']}"
        + "".join(f"\n       ! {p}" for p in res["problems"]),
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="only targets whose name or morphology contains SUBSTRING")
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder for the .npz targets")
    parser.add_argument("--scan", help="comma-separated amplitudes for the first depolarising clamp; print spikes")
    parser.add_argument("--list", action="store_true", help="print the targets")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    targets = list(target_by_name().values())
    if args.only:
        targets = [c for c in targets if args.only in c["name"] or args.only in c["morphology"]]
    if args.list:
        for c in targets:
            print(f"{c['name']}: {c['why']}\n    {json.dumps({k: v for k, v in c.items() if k != 'why'})}")
        return 0
    if args.scan:
        amps = [float(a) for a in args.scan.split(",")]
        for c in targets:
            with tempfile.TemporaryDirectory(prefix="neurax_fit_scan_") as tmp:
                out = Path(tmp) / "scan.json"
                rc, tail = run_worker({"target": c, "output": str(out), "scan": amps})
                if rc != 0 or not out.exists():
                    print(f"ERROR  {c['name']}: {tail.strip()[-1500:]}")
                    continue
                for row in json.loads(out.read_text())["scan"]:
                    print(f"{c['name']:20s} amp {row['amp']:<6} spikes {row['spikes']}  "
                          f"vmin {[round(x, 1) for x in row['vmin']]}  vmax {[round(x, 1) for x in row['vmax']]}  "
                          f"{row['seconds']:.2f} s")
        return 0
    start = time.monotonic()
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for fut in concurrent.futures.as_completed([pool.submit(generate, c, args.out) for c in targets]):
            res = fut.result()
            print_summary(res)
            failed += bool(res.get("error") or res.get("problems"))
    print(f"{len(targets)} targets, {failed} with problems, {time.monotonic() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
