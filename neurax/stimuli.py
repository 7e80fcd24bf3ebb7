"""Stimuli: point processes that inject current at a location.

:class:`IClamp` is NEURON's current clamp (``stim.mod``): ``amp`` nA from ``delay`` for ``dur`` ms. A step
uses the clamp when ``delay <= t_n + dt/2 < delay + dur`` (NEURON evaluates currents at the midpoint of
the step), and the current enters the node as ``amp * 100 / area`` (plain nA at a zero-area end node).
The numbers are pytree leaves, so they can be traced, batched and differentiated.
"""

from __future__ import annotations

from dataclasses import dataclass

from neurax._jax import jax

__all__ = ["IClamp"]


@dataclass(frozen=True)
class IClamp:
    """A current clamp.

    Attributes:
        location: where, e.g. ``"soma[0](0.5)"`` or ``"dend[3](1)"``.
        delay: onset (ms).
        dur: duration (ms).
        amp: amplitude (nA), positive depolarises.
    """

    location: str
    delay: float = 0.0
    dur: float = 0.0
    amp: float = 0.0

    @staticmethod
    def parse(text: str) -> IClamp:
        """An IClamp from the command-line form ``'SEC(X),DELAY,DUR,AMP'``."""
        from neurax.errors import LocationError

        loc, sep, rest = text.rpartition(")")
        fields = [f for f in rest.split(",") if f.strip()]
        if not sep or len(fields) != 3:
            raise LocationError(f"cannot read --iclamp {text!r}; write it as 'SEC(X),DELAY,DUR,AMP', "
                                "e.g. 'soma[0](0.5),5,80,0.5'")
        try:
            delay, dur, amp = (float(f) for f in fields)
        except ValueError:
            raise LocationError(f"--iclamp {text!r}: DELAY, DUR and AMP must be numbers") from None
        return IClamp(loc + ")", delay, dur, amp)


jax.tree_util.register_pytree_node(
    IClamp,
    lambda s: ((s.delay, s.dur, s.amp), s.location),
    lambda loc, leaves: IClamp(loc, *leaves),
)
