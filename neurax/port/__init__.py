"""Porting NEURON models: run a user's NEURON script, export the live model to a model file, simulate it.

* :func:`port` (``neurax port SCRIPT --mod PATH --out MODEL.json``): the script, run in NEURON;
* :func:`from_neuron`: a NEURON session running in this process;
* :func:`load_model` (``neurax simulate MODEL.json``): a model file, simulated without NEURON.
"""

from neurax.port.model import Model, ModelError, load_model, save_model
from neurax.port.run import from_neuron, port

__all__ = ["Model", "ModelError", "load_model", "save_model", "port", "from_neuron"]
