"""Import JAX with 64-bit floats enabled: neurax computes in float64 unless asked for float32.

Every neurax module that uses JAX imports it from here, so x64 is on before any array is created.

It also asks XLA:CPU for 512-bit vectors (``--xla_cpu_prefer_vector_width=512``; XLA's default is 256)
unless ``XLA_FLAGS`` already names a width. The per-node channel updates (table gathers, exponentials)
then run in AVX-512 registers where the CPU has them: a simulation step measured 15% faster on an
AVX-512 Xeon. Results are unchanged (only the vector width changes; no reassociation). CPUs without
AVX-512 use their widest vectors, and GPUs ignore the flag. The flag only takes effect if neurax is
imported before JAX compiles its first computation; set ``XLA_FLAGS`` yourself to choose otherwise.

Likewise it raises the size up to which XLA:CPU compiles a while loop into one native kernel
(``--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=65536``; the default is about
1 kB per iteration) unless ``XLA_FLAGS`` already sets backend extra options. The batched tree solve under
``jax.vmap`` moves a column of 32 systems per iteration; over the limit, every operation of every
iteration would be a kernel launch of its own (measured 2x slower for the whole solve).
"""

import os

import jax
import jax.numpy as jnp
import jaxlib
from jax import lax

_VECTOR_FLAG = "--xla_cpu_prefer_vector_width"
_LOOP_FLAG = "--xla_backend_extra_options"
#: Bytes per iteration up to which XLA:CPU compiles a while loop into one kernel.
LOOP_KERNEL_BYTES = 65536
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
