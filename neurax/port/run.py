"""``neurax port``: run a NEURON script with its mechanisms compiled, and write what it built as a model file.

:func:`port` checks every ``.mod`` file with neurax's importer first (a file neurax cannot run is refused
before NEURON starts), compiles them with NEURON's ``nrnivmodl`` (in a temporary folder, in the order given,
which is NEURON's type order), runs the script (``.hoc`` or ``.py``) in a fresh NEURON process with the
script's folder as the working directory, and exports everything that then exists
(:func:`neurax.port.export.export`). Before the file is written, neurax rebuilds the model and checks that it
computes NEURON's segment areas and resistances (to 1e-9). Nothing is written if any step fails.

:func:`from_neuron` does the same export in a NEURON session already running in this Python process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from neurax.port.model import Model, ModelError, build_model, geometry_error, save_model

__all__ = ["port", "from_neuron", "mechanism_info"]

#: The largest relative difference in segment area or ri between neurax and NEURON that a port accepts.
GEOMETRY_TOLERANCE = 1e-9
#: Seconds the NEURON process may run.
TIMEOUT_S = 1800

_DRIVER = r"""
import json, os, runpy, sys
spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["neurax"])
from neuron import h
if spec["library"]:
    h.nrn_load_dll(spec["library"])
h.load_file("stdrun.hoc")  # v_init, tstop and run() exist (their defaults) even if the script never loads it
script = spec["script"]
os.chdir(os.path.dirname(script))
sys.argv = [script]
if script.endswith(".hoc"):
    if not h.load_file(script):
        sys.exit("NEURON could not run the script (load_file returned 0)")
else:
    sys.path.insert(0, os.path.dirname(script))
    kept = runpy.run_path(script, run_name="__main__")  # held so module-level sections stay alive
from neurax.port.export import export
from neurax.port.run import type_orders
mechanisms = spec["mechanisms"]
orders = type_orders(h)
for name, info in mechanisms.items():
    info["order"] = orders.get(name, info["order"])
doc = export(h, mechanisms, spec["source"])
with open(spec["out"], "w") as f:
    json.dump(doc, f)
"""


def mechanism_info(paths: Sequence[str]) -> tuple[dict, list[str]]:
    """Neurax's reading of the ``.mod`` files (checked) and the files in NEURON's order.

    Returns ``({name: {"file", "order", "source", "range", "globals", "kind"}}, files)``.

    Raises:
        NmodlError: a file neurax cannot run (``FILE:LINE: ...``).
    """
    from neurax.nmodl.mechanism import FIRST_USER_TYPE, load_mods

    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            files.extend(os.path.join(path, f) for f in sorted(os.listdir(path)) if f.endswith(".mod"))
        else:
            files.append(path)
    classes = load_mods(files)
    info = {}
    for k, cls in enumerate(classes.values()):
        info[cls.name] = {"file": os.path.basename(cls.model.path), "order": FIRST_USER_TYPE + k, "source": cls.source,
                          "range": list(cls.parameter_names()), "globals": [*cls.global_params, *cls.fixed],
                          "kind": cls.kind}
    return info, files


def type_orders(h) -> dict[str, int]:
    """NEURON's type number of every mechanism loaded in the session ``h``, by name."""
    out = {}
    name = h.ref("")
    for kind in (0, 1):
        mt = h.MechanismType(kind)
        for k in range(int(mt.count())):
            mt.select(k)
            mt.selected(name)
            out[name[0]] = int(mt.internal_type())
    return out


def port(script: str, mods: Sequence[str] = (), out: str | None = None) -> Model:
    """Run ``script`` in NEURON with the mechanisms of ``mods`` and make a model of what it built.

    Args:
        script: a ``.hoc`` or ``.py`` file; it runs with its own folder as the working directory.
        mods: ``.mod`` files and folders of them.
        out: the model file to write (JSON), if any.

    Raises:
        ModelError: NEURON is missing, nrnivmodl rejects a file, the script fails, or the model holds
            what neurax cannot carry over; the message says which.
        NmodlError: a ``.mod`` file neurax cannot run.
    """
    script = os.path.abspath(script)
    if not os.path.isfile(script):
        raise ModelError(f"{script}: no such script")
    if not script.endswith((".hoc", ".py")):
        raise ModelError(f"{script}: a NEURON script must be a .hoc or .py file")
    if out is not None:
        folder = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(folder):
            raise ModelError(f"cannot write {out}: folder {folder} does not exist")
    info, files = mechanism_info(mods)  # a .mod file neurax cannot run is refused first, NEURON or not
    try:  # the version only: importing neuron here would start NEURON in this process
        from importlib.metadata import version

        neuron_version = version("neuron")
    except Exception:  # noqa: BLE001 - not installed, however the metadata says it
        raise ModelError("neurax port needs NEURON: pip install 'neurax[neuron]'") from None
    with tempfile.TemporaryDirectory(prefix="neurax_port_") as tmp:
        library = _compile(files, Path(tmp)) if files else ""
        result = Path(tmp) / "model.json"
        spec = {"neurax": str(Path(__file__).resolve().parents[2]), "library": library, "script": script,
                "mechanisms": info, "out": str(result),
                "source": {"script": os.path.basename(script), "mods": [os.path.basename(f) for f in files],
                           "neuron": neuron_version}}
        try:
            proc = subprocess.run([sys.executable, "-c", _DRIVER, json.dumps(spec)], capture_output=True, text=True,
                                  timeout=TIMEOUT_S, cwd=os.path.dirname(script))
        except subprocess.TimeoutExpired:
            raise ModelError(f"{script}: NEURON did not finish within {TIMEOUT_S} s") from None
        if proc.returncode != 0 or not result.is_file():
            raise ModelError(f"{script} failed in NEURON: {_last_error(proc.stderr + proc.stdout)}")
        document = json.loads(result.read_text())
    model = build_model(document, out or "<port>")
    error = geometry_error(model)
    if error > GEOMETRY_TOLERANCE:
        raise ModelError(f"{script}: neurax's segment geometry differs from NEURON's by {error:.2g} (relative); "
                         "the model file was not written")
    if out is not None:
        save_model(document, out)
    return model


def _compile(files: list[str], tmp: Path) -> str:
    """Compile ``files`` with nrnivmodl in ``tmp`` (in this order); returns the mechanism library's path."""
    build = tmp / "build"
    build.mkdir()
    copies = []
    for k, f in enumerate(files):
        target = build / os.path.basename(f)
        if target.exists():
            target = build / f"{k:03d}_{os.path.basename(f)}"
        shutil.copy(f, target)
        copies.append(target.name)
    nrnivmodl = shutil.which("nrnivmodl") or os.path.join(os.path.dirname(sys.executable), "nrnivmodl")
    proc = subprocess.run([nrnivmodl, *copies], cwd=build, capture_output=True, text=True)
    lib = next(iter(build.glob("*/libnrnmech.so")), None) or next(iter(build.glob("*/.libs/libnrnmech.so")), None)
    if proc.returncode != 0 or lib is None:
        raise ModelError(f"nrnivmodl rejected the .mod files: {_compile_error(proc.stdout + proc.stderr)}")
    return str(lib)


def _compile_error(text: str) -> str:
    """The first error of a failed nrnivmodl run, named by its ``.mod`` file: nocmodl's own message, or the C++
    compiler's first error in the code generated from a file (NEURON 9 compiles mechanisms as C++).
    """
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:  # nocmodl's own message names the file
        if ".mod" in ln and "error" in ln.lower() and "CalledProcessError" not in ln and "Command" not in ln:
            return ln[:300]
    for ln in lines:
        m = re.match(r"(?:.*/)?([\w.-]+)\.(?:cpp|c):(\d+):\d+: (?:fatal )?error: (.*)", ln)
        if m:
            return (f"{m.group(1)}.mod: the C++ that NEURON generates from it does not compile (line {m.group(2)} of "
                    f"{m.group(1)}.cpp: {m.group(3)[:160]}); names that are C++ keywords (double, new, class, ...) "
                    "are a common cause")
    return _last_error(text)


def _last_error(text: str) -> str:
    """The most telling line of a failed NEURON or nrnivmodl run: NEURON's own message with where it
    happened, else the last error line (a Python exception, a compiler error).
    """
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for k, ln in enumerate(lines):
        if ln.startswith("NEURON:"):
            where = lines[k + 1] if k + 1 < len(lines) and lines[k + 1].startswith("in ") else ""
            return f"{ln[8:].strip()} ({where})"[:300] if where else ln[8:].strip()[:300]
    for ln in reversed(lines):
        if any(word in ln.lower() for word in ("error", "exception", "not ", "undefined", "fail")):
            return ln[:300]
    return lines[-1][:300] if lines else "no output"


def from_neuron(mods: Sequence[str] = (), h=None) -> Model:
    """The model of the NEURON session running in this process (its mechanisms' ``.mod`` files in ``mods``).

    Raises:
        ModelError: what :func:`neurax.port.export.export` cannot carry over.
    """
    from neurax.port.export import export

    if h is None:
        from neuron import h
    info, _ = mechanism_info(mods) if mods else ({}, [])
    orders = type_orders(h)
    for name, entry in info.items():
        entry["order"] = orders.get(name, entry["order"])
    try:
        document = export(h, info, {"session": True})
    except ValueError as err:
        raise ModelError(str(err)) from None
    return build_model(document, "<neuron session>")
