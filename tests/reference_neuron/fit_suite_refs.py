"""Read the fitting benchmark suite written by ``generate_fit_suite.py``.

Example::

    from tests.reference_neuron.fit_suite_refs import load_problem, problem_names

    for name in problem_names():
        t, v, meta, v_clean = load_problem(name)
        meta["model"]["morphology"]          # "data/swc/c91662.swc" (repository-relative)
        meta["model"]["nseg"]["apic[13]"]    # compartments of one section
        meta["fit"][0]                       # {"key": "hh.gnabar@somatic", "true": 0.15, "bounds": [...], ...}
        v.shape                              # (n_protocols, n_records, n_samples): the target (noisy or not)
        v_clean.shape                        # the same without noise (v itself where the problem has none)
        t[1] - t[0]                          # 0.1 ms: every meta["sampling"]["sample_every"]-th step of dt
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SUITE_DIR = Path(__file__).resolve().parent / "fit_suite"


class Problem(NamedTuple):
    """One stored problem: sample times, target voltages, its description and the noise-free voltages."""

    t: np.ndarray
    v: np.ndarray
    meta: dict
    v_clean: np.ndarray


def problem_files() -> list[Path]:
    """All stored problems, sorted by name."""
    return sorted(SUITE_DIR.glob("*.npz"))


def problem_names() -> list[str]:
    """The names of the stored problems, sorted."""
    return [p.stem for p in problem_files()]


def load_problem(name) -> Problem:
    """Decode one problem (a name looked up in ``fit_suite/``, or the path of its .npz).

    Returns ``(t, v, meta, v_clean)``:

    * ``t`` (n_samples,): NEURON's ``h.t`` at the stored steps (ms);
    * ``v`` (n_protocols, n_records, n_samples): the target, noise included where ``meta["noise"]`` is set;
    * ``meta``: the model, the parameters to fit, the protocols, records, sampling and noise (see
      ``generate_fit_suite.py``);
    * ``v_clean``: the noise-free voltages (``v`` itself for problems without noise).
    """
    import json

    path = Path(name)
    if path.suffix != ".npz":
        path = SUITE_DIR / f"{name}.npz"
    with np.load(path) as z:
        meta = json.loads(str(z["meta"]))
        t, v = z["t"], z["v"]
        v_clean = z["v_clean"] if "v_clean" in z.files else v
    if v.shape != (len(meta["protocols"]), len(meta["record"]), t.size):
        raise ValueError(f"{path}: v has shape {v.shape}, the meta describes another")
    return Problem(t, v, meta, v_clean)


def profile(spec: dict):
    """A distance profile of the meta as a function of path distance d (um) from soma[0](0.5)."""
    g0, length = spec["g0"], spec["length"]
    if spec["kind"] == "exp":
        return lambda d: g0 * np.exp(d / length)
    assert spec["kind"] == "linear"
    return lambda d: g0 * (1.0 + d / length)


def build_cell(meta: dict):
    """The problem's true model in neurax, from its meta (or the meta's ``model``) alone."""
    import neurax as nx

    model = meta["model"] if "model" in meta else meta
    cell = nx.Cell(nx.load(REPO / model["morphology"]), 1, Ra=model["Ra"], cm=model["cm"],
                   nseg_overrides=model["nseg"])
    for s in model["section_params"]:
        cell = cell.set(s["name"], s["value"], on=s["on"])
    classes = {"hh": nx.HH, "pas": nx.Pas, **(nx.channels.library() if model["mods"] else {})}
    regions: dict[str, list[str]] = {}
    for m in model["mechanisms"]:
        on = regions.setdefault(m["name"], [])
        on += [r for r in ([m["on"]] if isinstance(m["on"], str) else m["on"]) if r not in on]
    for name, on in regions.items():
        cell = cell.insert(classes[name](), on=on)
    for m in model["mechanisms"]:
        for param, value in m["params"].items():
            if isinstance(value, dict):
                value = profile(value)
            cell = cell.set(f"{m['name']}.{param}", value, on=m["on"])
    for s in model["ions"]:
        cell = cell.set(s["name"], s["value"], on=s["on"])
    return cell
