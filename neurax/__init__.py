"""neurax: NEURON-exact, differentiable simulation of multicompartment neurons in JAX.

The public API is re-exported here lazily, so ``import neurax`` stays fast (no JAX, MorphIO or NeuroM
is imported until something that needs it is used).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    "load": "neurax.io",
    "Morphology": "neurax.morphology",
    "Section": "neurax.morphology",
    "Location": "neurax.morphology",
    "discretize": "neurax.compartments",
    "CompartmentTree": "neurax.compartments",
    "DLambda": "neurax.compartments",
    "MaxLength": "neurax.compartments",
    "Cell": "neurax.cell",
    "HH": "neurax.mechanisms",
    "Pas": "neurax.mechanisms",
    "Mechanism": "neurax.mechanisms",
    "IClamp": "neurax.stimuli",
    "ExpSyn": "neurax.mechanisms.synapses",
    "Exp2Syn": "neurax.mechanisms.synapses",
    "Network": "neurax.network",
    "NetStim": "neurax.network",
    "SpikeTrain": "neurax.network",
    "all_to_all": "neurax.network",
    "random_connections": "neurax.network",
    "from_matrix": "neurax.network",
    "simulate": "neurax.simulation",
    "Solution": "neurax.simulation",
    "Trainable": "neurax.params",
    "Shared": "neurax.params",
    "PerSection": "neurax.params",
    "PerCompartment": "neurax.params",
    "Positive": "neurax.params",
    "Log": "neurax.params",
    "ByDistance": "neurax.params",
    "Bounded": "neurax.params",
    "LogBounded": "neurax.params",
    "Identity": "neurax.params",
    "load_mod": "neurax.nmodl.mechanism",
    "load_mods": "neurax.nmodl.mechanism",
    "NmodlError": "neurax.nmodl.errors",
    "IonUse": "neurax.mechanisms.base",
    "load_model": "neurax.port",
    "from_neuron": "neurax.port",
    "port": "neurax.port",
    "Model": "neurax.port",
    "NeuraxError": "neurax.errors",
    "MorphologyError": "neurax.errors",
    "MorphologyRepairWarning": "neurax.errors",
    "StrictModeError": "neurax.errors",
    "LocationError": "neurax.errors",
    "DiscretizationError": "neurax.errors",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from neurax.cell import Cell
    from neurax.compartments import CompartmentTree, DLambda, MaxLength, discretize
    from neurax.errors import (
        DiscretizationError,
        LocationError,
        MorphologyError,
        MorphologyRepairWarning,
        NeuraxError,
        StrictModeError,
    )
    from neurax.io import load
    from neurax.mechanisms import HH, Mechanism, Pas
    from neurax.mechanisms.base import IonUse
    from neurax.mechanisms.synapses import Exp2Syn, ExpSyn
    from neurax.morphology import Location, Morphology, Section
    from neurax.network import NetStim, Network, SpikeTrain, all_to_all, from_matrix, random_connections
    from neurax.nmodl.errors import NmodlError
    from neurax.nmodl.mechanism import load_mod, load_mods
    from neurax.params import (
        Bounded,
        ByDistance,
        Identity,
        Log,
        LogBounded,
        PerCompartment,
        PerSection,
        Positive,
        Shared,
        Trainable,
    )
    from neurax.port import Model, from_neuron, load_model, port
    from neurax.simulation import Solution, simulate
    from neurax.stimuli import IClamp


def __getattr__(name: str):
    if name in ("fit", "channels", "features"):  # fitting; the channel library; trace features
        return importlib.import_module(f"neurax.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        if not name.startswith("_") and importlib.util.find_spec(f"neurax.{name}") is not None:
            return importlib.import_module(f"neurax.{name}")  # a submodule not imported yet (nx.simulation, ...)
        raise AttributeError(f"module 'neurax' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
