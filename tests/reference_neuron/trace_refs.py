"""Read the NEURON voltage-trace references written by ``generate_traces.py``.

Example::

    from tests.reference_neuron.trace_refs import load_trace, trace_files

    ref = load_trace("ball_hh_dlambda_table")          # a case name, or the path of its .npz
    ref["case"]["iclamp"]                              # ['soma[0](0.5),5.0,90.0,0.15'] (neurax simulate terms)
    ref["t"]                                           # (n_steps + 1,) h.t: 0, then after every fadvance
    ref["by_record"]["soma[0](0.5)"]                   # (n_steps + 1,) seg.v, float64
    ref["spike_counts"]                                # upward crossings of 0 mV per recording

The same format holds the NMODL mechanism references of ``generate_mechanisms.py`` (``mechanisms/``, read with
:func:`load_mechanism_trace`) and the ported pyramidal model's references of ``generate_ports.py`` (``ports/``,
read with :func:`load_port_trace`; the model file itself with :func:`load_port_model`).
"""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

import numpy as np

TRACE_DIR = Path(__file__).resolve().parent / "traces"
MECHANISM_DIR = Path(__file__).resolve().parent / "mechanisms"
PORT_DIR = Path(__file__).resolve().parent / "ports"
#: The model file ``neurax port docs/models/pyramidal.hoc --mod neurax/channels`` made (gzipped).
PORT_MODEL = PORT_DIR / "pyramidal.json.gz"


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


def mechanism_files() -> list[Path]:
    """All stored mechanism references (``generate_mechanisms.py``), sorted by case name."""
    return sorted(MECHANISM_DIR.glob("*.npz"))


def load_mechanism_trace(path) -> dict:
    """Decode one mechanism reference (a path, or a case name looked up in ``mechanisms/``).

    As :func:`load_trace`; the case has ``mods`` (repository-relative), ``mechanisms`` and ``params``
    (``NAME=VALUE`` strings) instead of ``mechanism``, and ``meta["mod_files"]`` lists the compiled files with
    NEURON's type numbers.
    """
    ref = read_reference(path, MECHANISM_DIR)
    return {"name": ref["meta"]["case"]["name"], "case": ref["meta"]["case"], **ref}


def port_files() -> list[Path]:
    """The stored references of the ported pyramidal model (``generate_ports.py``), by amplitude."""
    return sorted(PORT_DIR.glob("pyramidal_*nA.npz"), key=lambda p: float(p.stem.split("_")[1][:-2]))


def load_port_trace(path) -> dict:
    """Decode one port reference (a path, or a name such as ``pyramidal_0.8nA`` looked up in ``ports/``).

    As :func:`load_trace`, with ``amp`` (the IClamp amplitude, nA), ``iclamp`` (the model's clamp: location,
    delay, dur, amp) and ``settings`` (dt, tstop, v_init, celsius) instead of a case.
    """
    path = Path(path)
    if path.suffix != ".npz" and not path.exists():  # a name: its amplitude has a dot ("pyramidal_0.8nA")
        path = PORT_DIR / f"{path}.npz"
    ref = read_reference(path, PORT_DIR)
    meta = ref["meta"]
    return {"name": Path(ref["path"]).stem, "amp": meta["amp"], "iclamp": meta["iclamp"], "settings": meta["settings"],
            **ref}


def port_model_text(path=PORT_MODEL) -> str:
    """The JSON text of the stored model file."""
    with gzip.open(path, "rt") as handle:
        return handle.read()


def load_port_model(path=PORT_MODEL):
    """The stored model file, through ``neurax.load_model`` (unzipped into a temporary file first)."""
    import neurax as nx

    with tempfile.TemporaryDirectory(prefix="neurax_port_model_") as tmp:
        plain = Path(tmp) / "pyramidal.json"
        plain.write_text(port_model_text(path))
        return nx.load_model(str(plain))


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
