"""NEURON's own translator, nocmodl, as ground truth for the .mod files of these tests (skipped without it).

NEURON's wheel ships ``nocmodl`` in ``neuron/.data/bin``. Translating a file takes a few milliseconds (no C++
compile), which is enough to tell whether NEURON accepts a file and what it says when it does not.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest


def _prefix() -> Path | None:
    spec = importlib.util.find_spec("neuron")
    if spec is None or not spec.submodule_search_locations:
        return None
    prefix = Path(next(iter(spec.submodule_search_locations))) / ".data"
    return prefix if (prefix / "bin" / "nocmodl").is_file() else None


PREFIX = _prefix()
#: Marks a test that needs NEURON's nocmodl.
needs_nocmodl = pytest.mark.skipif(PREFIX is None, reason="NEURON (with nocmodl) is not installed")


def nocmodl(path: Path, workdir: Path, extra: tuple[Path, ...] = ()) -> tuple[int, str]:
    """Translate ``path`` with nocmodl in ``workdir`` (with ``extra`` files, e.g. includes, beside it).

    Returns the exit status and the output (stdout and stderr).
    """
    assert PREFIX is not None
    workdir.mkdir(parents=True, exist_ok=True)
    for f in (path, *extra):
        shutil.copyfile(f, workdir / f.name)
    env = dict(os.environ, NEURONHOME=str(PREFIX / "share" / "nrn"), NRNHOME=str(PREFIX),
               MODLUNIT=str(PREFIX / "share" / "nrn" / "lib" / "nrnunits.lib"))
    done = subprocess.run([str(PREFIX / "bin" / "nocmodl"), path.name, "-o", str(workdir)], cwd=workdir, env=env,
                          capture_output=True, timeout=60)
    return done.returncode, (done.stdout + done.stderr).decode("utf-8", "replace")
