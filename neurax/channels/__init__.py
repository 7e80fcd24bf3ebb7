"""neurax's channel library: the channel families of cortical and hippocampal models, as NMODL files.

Each ``.mod`` file in this folder is the project's own, written from the published equations (the paper is
cited in the file), and is loaded through the NMODL importer like any user file::

    import neurax as nx
    cell = nx.Cell(morph, nx.DLambda(0.1)).insert(nx.channels.NaT(gbar=2.0), on="somatic")
    nx.channels.names()          # ('BK', 'CaHVA', 'CaLVA', 'CaPool', 'Ih', 'Im', 'KP', 'KT', 'Kv1', ...)
    nx.channels.PATH             # the folder, e.g. for NEURON's nrnivmodl or neurax's --mod

The table of channels, their ions, states, methods and parameters is in ``docs/channels.md``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["PATH", "names", "library"]

#: The folder of the library's ``.mod`` files.
PATH = Path(__file__).resolve().parent


@cache
def library() -> dict:
    """Every library mechanism class, by NEURON name (type numbers in nrnivmodl's order of the folder)."""
    from neurax.nmodl.mechanism import load_mods

    return load_mods([str(PATH)])


def names() -> tuple[str, ...]:
    """The library's mechanism names."""
    return tuple(sorted(p.stem for p in PATH.glob("*.mod")))


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    mechanisms = library()
    if name not in mechanisms:
        raise AttributeError(f"the channel library has no {name!r} (it has {', '.join(names())})")
    return mechanisms[name]
