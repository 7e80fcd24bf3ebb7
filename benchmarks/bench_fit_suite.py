"""The fitting benchmark suite: neurax's default recipe on NEURON-made targets of real reconstructions.

Each problem (``tests/reference_neuron/fit_suite/``, made by ``tests/reference_neuron/generate_fit_suite.py``) is a
model described completely by its metadata, the parameters to fit with their true values and physical bounds, and
NEURON's recordings of several protocols (some with noise). For each problem this script, with the public API
only:

1. builds the cell from the metadata (:func:`build_cell`);
2. draws a start 50% off the truth (each value times a log-uniform factor in [1/1.5, 1.5]; reversal potentials
   plus or minus 15 mV), seeded;
3. runs ``nx.fit.recipe`` (a passive stage and a global stage of ``--starts`` members for ``--steps``
   Levenberg-Marquardt iterations at ``--coarse`` times dt, then up to ``--polish`` iterations of the two best at
   dt) with every parameter on a bounded scale (``nx.LogBounded`` or ``nx.Bounded`` within the problem's
   physical bounds);
4. scores it: noise-free problems succeed when every parameter is within 1% of the truth; noisy ones when the
   fitted model's traces are within the noise (RMS of fitted minus noise-free target <= sigma / 2).

``--es`` also runs a gradient-free baseline from the same start with the same number of simulations: CMA-ES
(``nx.fit.evolve``, 16 candidates per generation, BluePyOpt's ``CMA`` optimiser in its standard settings) on the
plain trace MSE in the same bounded coordinates, scored the same way. Every simulation counts as one, though the
recipe runs most of its own at twice the time step (half the cost); the wall times say what each costs.

Usage::

    python benchmarks/bench_fit_suite.py [--only SUBSTRING ...] [--starts 16] [--steps 30] [--polish 60]
                                         [--coarse 2] [--seed 0] [--es] [--json OUT.json] [--progress]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import neurax as nx  # noqa: E402
from tests.reference_neuron.fit_suite_refs import build_cell, load_problem, problem_names  # noqa: E402

jax.config.update("jax_enable_x64", True)


def _on(on):
    """A region of the meta: a section list, ``"basal+apical"`` (several), or a list of them."""
    if isinstance(on, str):
        return on.split("+") if "+" in on else on
    return list(on)


def _region(cell: nx.Cell, model: dict, entry: dict):
    """Where a fit key's value holds: its mechanism entry's region, less the sections where a later entry of the
    model sets the same parameter (as in NEURON, where the generator assigned the entries in order: hh.gl on
    "all" and then 3e-4 on "axonal" leave the key "hh.gl@all" the value of every section but the axon's).
    """
    region = _on(entry["region"])
    path = entry["path"]
    if path[0] == "mechanisms":
        name = model["mechanisms"][path[1]]["name"]
        later = [m["on"] for m in model["mechanisms"][path[1] + 1:] if m["name"] == name and path[3] in m["params"]]
    elif path[0] == "section_params":
        later = [s["on"] for s in model["section_params"][path[1] + 1:] if s["name"] == entry["name"]]
    else:  # the cell's Ra or cm, which section_params then override
        later = [s["on"] for s in model.get("section_params", []) if s["name"] == path[0]]
    if not later:
        return region
    keep = set(cell.sections(region).tolist())
    for on in later:
        keep -= set(cell.sections(_on(on)).tolist())
    return [cell.morphology.sections[k].name for k in sorted(keep)]


def _transform(entry: dict):
    lo, hi = entry["bounds"]
    return nx.LogBounded(lo, hi) if entry["scale"] == "log" else nx.Bounded(lo, hi)


def start_values(meta: dict, seed: int) -> dict:
    """A start 50% off the truth (log-uniform factor in [1/1.5, 1.5]; mV values +-15 mV), inside the bounds."""
    rng = np.random.default_rng(seed)
    out = {}
    for entry in meta["fit"]:
        lo, hi = entry["bounds"]
        true = entry["true"]
        value = true + rng.uniform(-15, 15) if entry["unit"] == "mV" else true * math.exp(rng.uniform(-1, 1) *
                                                                                        math.log(1.5))
        margin = (hi - lo) * 1e-3
        out[entry["key"]] = float(min(max(value, lo + margin), hi - margin))
    return out


def trainable_for(cell: nx.Cell, meta: dict, start: dict):
    """The Trainable of a problem's ``fit`` list, starting at ``start``; and a function giving each fit key's
    value from the trainable's values.
    """
    model = meta["model"]
    spec, transforms, getters, profiles = {}, {}, {}, {}
    for entry in meta["fit"]:  # a profile's fields (g0, length) become one ByDistance key
        if entry["field"] is not None:
            profiles.setdefault((entry["path"][1], entry["path"][3]), []).append(entry)
    # each key holds only where no later entry of the model sets its parameter (_region), so no two keys overlap
    # and their order is free: the fit list's order (it decides which Sobol coordinate draws which key's starts)
    for entry in meta["fit"]:
        if entry["field"] is None:
            key = entry["key"]
            region = _region(cell, model, entry)
            spec[key] = nx.Shared(region)
            transforms[key] = _transform(entry)
            getters[key] = partial(_plain_value, key)
            cell = cell.set(entry["name"], start[key], on=region)
            continue
        mech_index, param = entry["path"][1], entry["path"][3]
        entries = profiles.pop((mech_index, param), None)
        if entries is None:  # this profile's key is made
            continue
        mech = model["mechanisms"][mech_index]
        profile = dict(mech["params"][param])
        for e in entries:
            profile[e["field"]] = start[e["key"]]
        fields = [e["field"] for e in entries]
        fixed = {f: profile[f] for f in ("g0", "length") if f not in fields}
        kind = profile["kind"]

        def fn(d, theta, fields=tuple(fields), fixed=fixed, kind=kind):
            values = {**fixed, **{f: theta[i] for i, f in enumerate(fields)}}
            if kind == "exp":
                return values["g0"] * jnp.exp(d / values["length"])
            return values["g0"] * (1.0 + d / values["length"])

        key = f"{mech['name']}.{param}@profile{mech_index}"
        spec[key] = nx.ByDistance(_on(mech["on"]), fn, init=[profile[f] for f in fields])
        transforms[key] = nx.LogBounded(tuple(e["bounds"][0] for e in entries), tuple(e["bounds"][1] for e in entries))
        for i, e in enumerate(entries):
            getters[e["key"]] = partial(_profile_value, key, i)
    tr = cell.trainable(spec, transforms)
    return tr, lambda params: {k: g(tr.values(params)) for k, g in getters.items()}


def _plain_value(key: str, values: dict) -> float:
    return float(np.asarray(values[key]).ravel()[0])


def _profile_value(key: str, i: int, values: dict) -> float:
    return float(np.asarray(values[key]).ravel()[i])


def protocols_of(meta: dict, v_target: np.ndarray) -> list:
    """``[(stimuli, target), ...]`` for the recipe."""
    out = []
    for k, prot in enumerate(meta["protocols"]):
        stimuli = [nx.IClamp(f"{c['section']}({c['x']})", c["delay"], c["dur"], c["amp"]) for c in prot["iclamp"]]
        out.append((stimuli, v_target[k]))
    return out


def rms_against(cell: nx.Cell, meta: dict, protocols: list, settings: dict, v_clean: np.ndarray) -> float:
    """RMS difference (mV) between ``cell``'s traces and the noise-free target, over every protocol and record."""
    model, every = meta["model"], meta["sampling"]["sample_every"]
    return float(np.sqrt(np.mean([
        (np.asarray(nx.simulate(cell, stim, meta["record"], tstop=model["tstop"], dt=model["dt"], **settings).v)
         [..., ::every] - v_clean[k]) ** 2 for k, (stim, _) in enumerate(protocols)])))


def score(meta: dict, fitted: dict, rms: float | None) -> tuple[bool, float]:
    """Success and the worst relative error over the parameters (or the RMS test for noisy problems)."""
    worst = max(abs(fitted[e["key"]] / e["true"] - 1.0) for e in meta["fit"])
    if meta["noise"] is None:
        return worst <= 0.01, worst
    return rms is not None and rms <= meta["noise"]["sigma"] / 2, worst


def run_problem(name: str, args) -> dict:
    t, v, meta, v_clean = load_problem(name)
    model = meta["model"]
    cell = build_cell(model)
    start = start_values(meta, args.seed)
    tr, fitted_of = trainable_for(cell, meta, start)
    protocols = protocols_of(meta, v)
    every = meta["sampling"]["sample_every"]
    settings = {"v_init": model["v_init"], "celsius": model["celsius"]}
    clock = time.perf_counter()
    result = nx.fit.recipe(tr, protocols, record=meta["record"], tstop=model["tstop"], dt=model["dt"],
                           sample_every=every, starts=args.starts, steps=args.steps, polish=args.polish,
                           coarse=args.coarse, seed=args.seed, progress=args.progress, **settings)
    seconds = time.perf_counter() - clock
    fitted = fitted_of(result.params)
    final = tr.apply(result.params)
    rms = rms_against(final, meta, protocols, settings, v_clean)
    ok, worst = score(meta, fitted, rms)
    posed = well_posedness(cell, meta, protocols, settings, v_clean)
    es = None
    if args.es:
        es = run_es(tr, fitted_of, meta, protocols, settings, v_clean, int(sum(st["simulations"]
                                                                                for st in result.stages)))
    row = {"problem": name, "compartments": model["ncompartments"], "parameters": len(meta["fit"]),
           "protocols": len(protocols), "noise": meta["noise"]["sigma"] if meta["noise"] else 0.0,
           "success": bool(ok), "worst_relative_error": worst, "rms_vs_clean_mV": rms, "seconds": seconds,
           "simulations": int(sum(s["simulations"] for s in result.stages)), "loss": result.loss,
           "noise_estimated_mV": result.noise, "explained": result.explained, "stages": result.stages,
           "fitted": fitted, "true": {e["key"]: e["true"] for e in meta["fit"]},
           "spread": {k: np.asarray(v).tolist() for k, v in result.population.spread(tr).items()},
           "std_at_truth": posed, "es": es}
    print(f"{name:<28} {model['ncompartments']:>6} {len(meta['fit']):>3} {len(protocols):>3} "
          f"{row['noise']:>5.2f} {'yes' if ok else 'no':>4} {worst:>9.2e} {rms:>8.3f} {seconds:>8.1f} "
          f"{row['simulations']:>7} {max(posed.values()):>8.2%}", flush=True)
    if es is not None:
        print(f"{'  ES, same simulations':<28} {'':>6} {'':>3} {'':>3} {'':>5} {'yes' if es['success'] else 'no':>4} "
              f"{es['worst_relative_error']:>9.2e} {es['rms_vs_clean_mV']:>8.3f} {es['seconds']:>8.1f} "
              f"{es['simulations']:>7}", flush=True)
    return row


def well_posedness(cell: nx.Cell, meta: dict, protocols: list, settings: dict, v_clean: np.ndarray) -> dict:
    """Per fitted parameter, its relative standard deviation at the true values for recordings with 0.1 mV noise
    (``nx.fit.identifiability``): how well the problem's protocols and records determine it at all.
    """
    model, every = meta["model"], meta["sampling"]["sample_every"]
    truth = {e["key"]: e["true"] for e in meta["fit"]}
    tr, _ = trainable_for(cell, meta, truth)
    n = v_clean.size

    def residuals(params):
        fitted = tr.apply(params)
        return jnp.concatenate([
            (nx.simulate(fitted, stim, meta["record"], tstop=model["tstop"], dt=model["dt"], **settings).v[..., ::every]
             - v_clean[k]).ravel() for k, (stim, _) in enumerate(protocols)]) / np.sqrt(n)

    std = nx.fit.identifiability(residuals, tr.init(), tr, noise=0.1)
    out, position = {}, {}
    for entry in meta["fit"]:
        if entry["field"] is None:
            value = float(np.asarray(std[entry["key"]]).ravel()[0])
            relative = nx.fit.relative_scale(tr.transforms[entry["key"]])
            out[entry["key"]] = value if relative else value / abs(entry["true"])
        else:  # a profile's g0 or length (trainable_for's order): relative, on a log scale
            key = f"{entry['name']}@profile{entry['path'][1]}"
            i = position[key] = position.get(key, -1) + 1
            out[entry["key"]] = float(np.asarray(std[key]).ravel()[i])
    return out


def run_es(tr, fitted_of, meta: dict, protocols: list, settings: dict, v_clean: np.ndarray, budget: int) -> dict:
    """The evolution strategy from the trainable's start with ``budget`` simulations, scored like the recipe."""
    model = meta["model"]
    every = meta["sampling"]["sample_every"]
    targets = [jnp.asarray(target) for _, target in protocols]

    def loss(params):
        cell = tr.apply(params)
        return sum(nx.fit.mse(nx.simulate(cell, stim, meta["record"], tstop=model["tstop"], dt=model["dt"],
                                          **settings).v[..., ::every], targets[k])
                   for k, (stim, _) in enumerate(protocols)) / len(protocols)

    population = 16
    generations = max(1, budget // (population * len(protocols)))
    clock = time.perf_counter()
    best, history = nx.fit.evolve(loss, tr.init(), generations=generations, population=population, seed=0)
    seconds = time.perf_counter() - clock
    fitted = fitted_of(best)
    final = tr.apply(best)
    rms = rms_against(final, meta, protocols, settings, v_clean)
    ok, worst = score(meta, fitted, rms)
    return {"success": bool(ok), "worst_relative_error": worst, "rms_vs_clean_mV": rms, "seconds": seconds,
            "simulations": generations * population * len(protocols), "loss": float(history[-1]),
            "fitted": fitted}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line's options (the defaults are the benchmark's stated budget)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="problems whose name contains one of these")
    parser.add_argument("--starts", type=int, default=16)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--polish", type=int, default=60)
    parser.add_argument("--coarse", type=int, default=2, help="the global stage's dt is this many times dt")
    parser.add_argument("--progress", action="store_true", help="progress lines on stderr")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--es", action="store_true", help="also run the evolution strategy with the same budget")
    parser.add_argument("--json", type=Path)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n for n in problem_names() if not args.only or any(s in n for s in args.only)]
    if not names:
        print("no problems (run tests/reference_neuron/generate_fit_suite.py)", file=sys.stderr)
        return 1
    print(f"recipe: {args.starts} starts x {args.steps} Levenberg-Marquardt iterations at {args.coarse} x dt, then "
          f"up to {args.polish} at dt; seed {args.seed}; starts 50% off the truth")
    print(f"{'problem':<28} {'comp':>6} {'par':>3} {'pro':>3} {'noise':>5} {'ok':>4} {'worst err':>9} "
          f"{'rms mV':>8} {'s':>8} {'sims':>7} {'posed':>8}")
    print("(posed: the largest relative standard deviation of a parameter at the truth with 0.1 mV noise)")
    rows = [run_problem(n, args) for n in names]
    clean = [r for r in rows if r["noise"] == 0]
    print(f"success: {sum(r['success'] for r in rows)}/{len(rows)} "
          f"(noise-free {sum(r['success'] for r in clean)}/{len(clean)}); "
          f"total {sum(r['seconds'] for r in rows):.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "rows": rows}, indent=1,
                                        default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
