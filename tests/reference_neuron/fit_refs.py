"""Read the NEURON fitting targets written by ``generate_fit_targets.py``.

Example::

    from tests.reference_neuron.fit_refs import fit_target_files, load_fit_target

    ref = load_fit_target("fit_pvalb")                 # a target name, or the path of its .npz
    ref["target"]["mechanisms"]                        # [{"name": "hh", "on": "somatic", "params": {...}}, ...]
    ref["true_params"]                                 # {"hh.gnabar@somatic": 0.15, ..., "Ra": 120.0, "cm": 1.3}
    ref["t"]                                           # (n_steps + 1,) h.t: 0, then after every fadvance
    ref["by_record"]["soma[0](0.5)"]                   # (n_steps + 1,) seg.v, float64
"""

from __future__ import annotations

from pathlib import Path

from tests.reference_neuron.trace_refs import read_reference

FIT_TARGET_DIR = Path(__file__).resolve().parent / "fit_targets"


def fit_target_files() -> list[Path]:
    """All stored fitting targets, sorted by name."""
    return sorted(FIT_TARGET_DIR.glob("*.npz"))


def load_fit_target(path) -> dict:
    """Decode one fitting target (a path, or a target name looked up in ``fit_targets/``).

    Returns a dict with:

    * ``name``, ``path``, ``target`` (the target dict: ``morphology`` (relative to the shared morphologies
      folder), ``nseg``, ``d_lambda``, ``Ra``, ``cm``, ``mechanisms``, ``celsius``, ``v_init``, ``dt``, ``tstop``,
      ``rates``, ``iclamp``, ``record``, plus the annotations ``why`` and ``min_spikes``) and ``meta`` (everything
      the generator stored);
    * ``true_params``: ``"<mech>.<param>@<list>"`` -> value, plus ``"Ra"`` and ``"cm"``, in the order the target
      sets them; ``effective_params``: what NEURON held per list after setup (``None`` where the mechanism is
      missing from part of the list, ``{"min", "max"}`` where not uniform);
    * ``t`` (n_steps + 1,) and ``v`` (n_record, n_steps + 1), float64; ``record`` (the row labels of ``v``) and
      ``by_record`` (label -> row);
    * ``ncompartments``, ``sectionlists``, ``spike_counts``, ``spike_times`` (per recording), ``neuron_version``.
    """
    ref = read_reference(path, FIT_TARGET_DIR)
    meta = ref["meta"]
    return {"name": meta["target"]["name"], "target": meta["target"], "true_params": dict(meta["true_params"]),
            "effective_params": dict(meta["effective_params"]), "sectionlists": meta["sectionlists"], **ref}
