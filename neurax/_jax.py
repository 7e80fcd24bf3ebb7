"""Import JAX with 64-bit floats enabled: neurax computes in float64 unless asked for float32.

Every neurax module that uses JAX imports it from here, so x64 is on before any array is created.
"""

import jax
import jax.numpy as jnp
from jax import lax

jax.config.update("jax_enable_x64", True)

__all__ = ["jax", "jnp", "lax"]
