"""Start-up cost of the command line, as a user pays it, beside NEURON and a bare JAX import (same run).

Every number is the wall time of a fresh process, started the way a user starts it, the median of
``--repeat`` runs (each run in turn, so machine noise hits all alike):

* ``python -c "import jax"``: the floor any JAX program pays here;
* ``python -c "import neurax"`` and ``neurax --help``: what stays light (no JAX import);
* ``neurax simulate CELL --nseg 8 --tstop 1 --out OUT.npz`` (hh everywhere, 1 ms), cold: a fresh, empty cache
  folder (``XDG_CACHE_HOME``) every run, so every compilation happens; warm: the cache filled by an earlier run;
* NEURON doing the same job in a fresh process: import neuron, Import3d read of the same file, nseg 8, hh
  everywhere, finitialize(-65) and 1 ms at dt 0.025, the soma trace written to an .npz.

The targets (issue "Fast start") are the times beyond the bare JAX import: cold <= 1.0 s, warm <= 0.4 s. The
benchmark also counts the XLA compilations of one cold simulate call (JAX's monitoring events; target 1 for the
simulation itself) and prints the command line's own ``time:`` line, which splits the wall time into parts.

    python benchmarks/bench_startup.py [--repeat 5] [--file PATH] [--nseg 8]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FILE = REPO.parent / "shared" / "morphologies" / "jaxley" / "morph_ca1_n120.swc"

NEURON_JOB = r"""
import sys
import numpy as np
from neuron import h
path, nseg, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
h.load_file("stdrun.hoc"); h.load_file("import3d.hoc")
reader = h.Import3d_SWC_read(); reader.input(path)
h.Import3d_GUI(reader, False).instantiate(None)
for sec in h.allsec():
    sec.nseg = nseg
    sec.insert("hh")
soma = next(sec for sec in h.allsec() if "soma" in sec.name())
v = h.Vector().record(soma(0.5)._ref_v); t = h.Vector().record(h._ref_t)
h.dt = 0.025; h.finitialize(-65); h.continuerun(1.0)
np.savez(out, t=np.array(t), v=np.array(v))
"""

COUNT_JOB = r"""
import sys
from jax._src import monitoring
count = [0]
def seen(event, duration, **kw):
    if event == "/jax/core/compile/backend_compile_duration":
        count[0] += 1
monitoring.register_event_duration_secs_listener(seen)
from neurax.cli import main
code = main(sys.argv[1:])
print("COMPILATIONS", count[0], file=sys.stderr)
sys.exit(code)
"""


def wall(cmd: list[str], env: dict | None = None) -> tuple[float, str]:
    """Seconds a fresh process takes, and its output (an error if it fails)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=REPO)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {(proc.stdout + proc.stderr)[-2000:]}")
    return seconds, proc.stdout + proc.stderr


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--nseg", type=int, default=8)
    args = parser.parse_args(argv)
    py = sys.executable
    neurax = shutil.which("neurax", path=str(Path(py).parent)) or shutil.which("neurax")
    cli = [neurax] if neurax else [py, "-m", "neurax"]
    have_neuron = subprocess.run([py, "-c", "import neuron"], capture_output=True).returncode == 0
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="neurax_bench_startup_") as tmp:
        out = str(Path(tmp) / "out.npz")
        job = [*cli, "simulate", str(args.file), "--nseg", str(args.nseg), "--tstop", "1", "--out", out]
        warm_cache = str(Path(tmp) / "warm")
        wall(job, {"XDG_CACHE_HOME": warm_cache})  # fills the warm cache
        seconds, text = wall([py, "-c", COUNT_JOB, *job[len(cli):]], {"NEURAX_CACHE": "0"})
        compilations = int(text.rsplit("COMPILATIONS", 1)[1].split()[0])
        cold_time_line = next(line.strip() for line in text.splitlines() if line.strip().startswith("time:"))
        runs = {
            "python -c 'import jax'": lambda: wall([py, "-c", "import jax"]),
            "python -c 'import neurax'": lambda: wall([py, "-c", "import neurax"]),
            "neurax --help": lambda: wall([*cli, "--help"]),
            "neurax simulate, cold": lambda: wall(job, {"XDG_CACHE_HOME": tempfile.mkdtemp(dir=tmp)}),
            "neurax simulate, warm": lambda: wall(job, {"XDG_CACHE_HOME": warm_cache}),
        }
        if have_neuron:
            runs["NEURON, same job"] = lambda: wall([py, "-c", NEURON_JOB, str(args.file), str(args.nseg), out])
        warm_time_line = ""
        for _ in range(args.repeat):
            for name, run in runs.items():
                seconds, text = run()
                times.setdefault(name, []).append(seconds)
                if name.endswith("warm"):
                    warm_time_line = next(line.strip() for line in text.splitlines()
                                          if line.strip().startswith("time:"))
    median = {name: statistics.median(values) for name, values in times.items()}
    jax_s = median["python -c 'import jax'"]
    print(f"{args.file.name}, nseg {args.nseg}, hh, 1 ms; median of {args.repeat} fresh processes each (s)")
    for name, seconds in median.items():
        beyond = f"   (beyond import jax: {seconds - jax_s:+.2f} s)" if "simulate" in name else ""
        print(f"  {name:28s} {seconds:6.2f}{beyond}")
    if have_neuron:
        print(f"  warm / NEURON: {median['neurax simulate, warm'] / median['NEURON, same job']:.2f}x; "
              f"cold / NEURON: {median['neurax simulate, cold'] / median['NEURON, same job']:.2f}x")
    print(f"  XLA compilations in one cold simulate call: {compilations}")
    print(f"  cold  {cold_time_line}")
    print(f"  warm  {warm_time_line}")
    print(json.dumps({"median_s": median, "compilations": compilations, "python": sys.version.split()[0]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
