"""Read the NEURON voltage-trace references written by ``generate_traces.py``.

Example::

    from tests.reference_neuron.trace_refs import load_trace, trace_files

    ref = load_trace("ball_hh_dlambda_table")          # a case name, or the path of its .npz
    ref["case"]["iclamp"]                              # ['soma[0](0.5),5.0,90.0,0.15'] (neurax simulate terms)
    ref["t"]                                           # (n_steps + 1,) h.t: 0, then after every fadvance
    ref["by_record"]["soma[0](0.5)"]                   # (n_steps + 1,) seg.v, float64
    ref["spike_counts"]                                # upward crossings of 0 mV per recording
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

TRACE_DIR = Path(__file__).resolve().parent / "traces"


def trace_files() -> list[Path]:
    """All stored trace references, sorted by case name."""
    return sorted(TRACE_DIR.glob("*.npz"))


def load_trace(path) -> dict:
    """Decode one trace reference (a path, or a case name looked up in ``traces/``).

    Returns a dict with:

    * ``name``, ``path``, ``case`` (the case dict: ``morphology``, ``nseg``, ``d_lambda``, ``Ra``, ``cm``,
      ``mechanism``, ``celsius``, ``v_init``, ``dt``, ``tstop``, ``rates``, ``iclamp``, ``record``, plus the
      annotations ``why``, ``distal``, ``min_spikes``) and ``meta`` (everything the generator stored);
    * ``t`` (n_steps + 1,) and ``v`` (n_record, n_steps + 1), float64; ``record`` (the row labels of ``v``) and
      ``by_record`` (label -> row);
    * ``ncompartments``, ``spike_counts``, ``spike_times`` (per recording), ``neuron_version``.
    """
    ref = read_reference(path, TRACE_DIR)
    return {"name": ref["meta"]["case"]["name"], "case": ref["meta"]["case"], **ref}


def read_reference(path, folder: Path) -> dict:
    """The fields every stored NEURON reference has (a path, or a name looked up in ``folder``).

    ``path``, ``meta``, ``t``, ``v``, ``record``, ``by_record``, ``ncompartments``, ``spike_counts``,
    ``spike_times``, ``neuron_version``; the loaders add their own.
    """
    path = Path(path)
    if not path.suffix and not path.exists():
        path = folder / f"{path}.npz"
    with np.load(path, allow_pickle=False) as z:
        t, v, meta = z["t"], z["v"], json.loads(str(z["meta"]))
    record = list(meta["record"])
    return {
        "path": str(path),
        "meta": meta,
        "t": t,
        "v": v,
        "record": record,
        "by_record": dict(zip(record, v, strict=True)),
        "ncompartments": meta["ncompartments"],
        "spike_counts": meta["spike_counts"],
        "spike_times": meta["spike_times"],
        "neuron_version": meta["neuron_version"],
    }
