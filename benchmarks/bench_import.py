"""Import + discretisation time: neurax versus NEURON's Import3d, on the same files in the same run.

NEURON runs in a fresh subprocess per file (its sections are global state); the time measured inside it
is ``Import3d_*_read().input(file)`` + ``Import3d_GUI(r, False).instantiate(None)`` + the d_lambda rule
(Ra 100, lambda_f(100)) + computing every segment's area, i.e. what neurax's ``load`` + ``discretize``
do. Each side is repeated and the median reported; the ratio is neurax / NEURON (lower is better).

    python benchmarks/bench_import.py [--repeat 7] [FILE ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "morphologies"
DEFAULT_FILES = ["nrn/111200A.asc", "arbor/pyramidal.swc", "jaxley/morph_ca1_n120.swc", "nrn/c91662.swc",
                 "neurom/bio_neuron-000.asc"]

NEURON_SCRIPT = r"""
import json, os, sys, time
path, repeat = sys.argv[1], int(sys.argv[2])
devnull = os.open(os.devnull, os.O_WRONLY); saved = os.dup(1); os.dup2(devnull, 1)
from neuron import h
h.load_file("stdlib.hoc"); h.load_file("import3d.hoc")
h('''proc nx_dlambda() { forall { Ra = 100 cm = 1 nseg = int((L/(0.1*lambda_f(100))+.9)/2)*2+1 } }''')
h('''proc nx_area() { local s forall for (x, 0) { s += area(x) } }''')
times = []
for _ in range(repeat):
    for sec in list(h.allsec()):
        h.delete_section(sec=sec)
    t0 = time.perf_counter()
    r = h.Import3d_SWC_read() if path.endswith(".swc") else h.Import3d_Neurolucida3()
    r.quiet = 1
    r.input(path)
    h.Import3d_GUI(r, False).instantiate(None)
    h.nx_dlambda()
    h.nx_area()
    times.append(time.perf_counter() - t0)
os.dup2(saved, 1)
print(json.dumps(times))
"""


def neuron_times(path: Path, repeat: int) -> list[float]:
    proc = subprocess.run([sys.executable, "-c", NEURON_SCRIPT, str(path), str(repeat)], capture_output=True,
                          text=True, timeout=900)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def neurax_times(path: Path, repeat: int) -> list[float]:
    import neurax as nx

    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            morph = nx.load(path)
        nx.discretize(morph, nx.DLambda(0.1), Ra=100.0, cm=1.0)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", default=DEFAULT_FILES)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"{'file':<34}{'points':>8}{'NEURON (ms)':>13}{'neurax (ms)':>13}{'ratio':>8}")
    for name in args.files:
        path = Path(name) if Path(name).exists() else SHARED / name
        nrn = statistics.median(neuron_times(path, args.repeat))
        nx_t = statistics.median(neurax_times(path, args.repeat))
        lines = sum(1 for _ in open(path, errors="replace"))
        print(f"{name:<34}{lines:>8}{nrn * 1e3:>13.1f}{nx_t * 1e3:>13.1f}{nx_t / nrn:>8.3f}", flush=True)


if __name__ == "__main__":
    main()
