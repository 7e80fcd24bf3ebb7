"""Import JAX with 64-bit floats enabled: neurax computes in float64 unless asked for float32.

Every neurax module that uses JAX imports it from here, so x64 is on before any array is created.

It also asks XLA:CPU for 512-bit vectors (``--xla_cpu_prefer_vector_width=512``; XLA's default is 256)
unless ``XLA_FLAGS`` already names a width. The per-node channel updates (table gathers, exponentials)
then run in AVX-512 registers where the CPU has them: a simulation step measured 15% faster on an
AVX-512 Xeon. Results are unchanged (only the vector width changes; no reassociation). CPUs without
AVX-512 use their widest vectors, and GPUs ignore the flag. The flag only takes effect if neurax is
imported before JAX compiles its first computation; set ``XLA_FLAGS`` yourself to choose otherwise.

Likewise it raises the size up to which XLA:CPU compiles a while loop into one native kernel
(``--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=4000000``; the default is about
1 kB per iteration) unless ``XLA_FLAGS`` already sets backend extra options. Over the limit, every
operation of every iteration is a kernel launch of its own (~1 us each). Measured on the 2-core Xeon,
100 ms of hh on the CA1 cell, against a 64 kB limit:

* the batched tree solve under ``jax.vmap`` (a column of 32 systems per iteration) needs 64 kB: 2x slower
  below it;
* at 4 MB a whole simulation's time loop becomes one kernel for cells of up to ~20,000 compartments:
  0.053 -> 0.047 s at 468 compartments, 0.240 -> 0.219 s at 2,496, 1.23 -> 0.94 s at 9,984; a vmapped
  batch of 8 at 1,248 compartments 0.86 -> 0.71 s; the adjoint's recursion over a chunk of steps is one
  kernel too. Tiles of 16 simulations (:mod:`neurax.batching`) stay above the limit, where
  XLA:CPU splits their large kernels over the cores: as one kernel they ran 15% slower.
"""

import os

import jax
import jax.numpy as jnp
import jaxlib
from jax import lax

_VECTOR_FLAG = "--xla_cpu_prefer_vector_width"
_LOOP_FLAG = "--xla_backend_extra_options"
#: Bytes per iteration up to which XLA:CPU compiles a while loop into one kernel.
LOOP_KERNEL_BYTES = 4_000_000
#: The flags are known to jaxlib from this version on (an unknown flag in XLA_FLAGS aborts the process).
_FLAGS_SINCE = (0, 10)


def _jaxlib_version() -> tuple[int, ...]:
    return tuple(int(part) for part in jaxlib.__version__.split(".")[:2] if part.isdigit())


def _default_flags(flags: str) -> str:
    """``flags`` (XLA_FLAGS) with neurax's defaults added where the user has not set them."""
    if _jaxlib_version() < _FLAGS_SINCE:
        return flags
    if _VECTOR_FLAG not in flags:
        flags = f"{flags} {_VECTOR_FLAG}=512"
    if _LOOP_FLAG not in flags:
        flags = f"{flags} {_LOOP_FLAG}=xla_cpu_small_while_loop_byte_threshold={LOOP_KERNEL_BYTES}"
    return flags.strip()


_flags = _default_flags(os.environ.get("XLA_FLAGS", ""))
if _flags:
    os.environ["XLA_FLAGS"] = _flags

jax.config.update("jax_enable_x64", True)

__all__ = ["jax", "jnp", "lax"]
