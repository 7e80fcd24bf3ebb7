"""The ``neurax`` command line.

``neurax inspect [FILE] [--nseg N | --d-lambda F] [--Ra R] [--cm C] [--json OUT] [--strict]`` imports a
morphology as NEURON would and prints a summary (sections per type, lengths, areas, compartments, the
repairs made, a few NeuroM morphometrics); ``--json`` writes every section with its 3-D points and every
segment's area, ri and diam, values exactly as NEURON's ``seg.area()``, ``seg.ri()`` and ``seg.diam``.
Without FILE it inspects the bundled demo cell.

Errors in the input end the command with exit code 2 and one line on stderr naming the file, the line
and the problem.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from pathlib import Path

__all__ = ["main", "DEMO_CELL"]

#: The bundled cell used when no file is given.
DEMO_CELL = Path(__file__).resolve().parents[1] / "data" / "swc" / "c91662.swc"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _add_cell_arguments(parser: argparse.ArgumentParser, file_help: str, defaults: bool) -> None:
    """FILE, the nseg policy, Ra, cm and --strict: what inspect and simulate share."""
    parser.add_argument("file", nargs="?", help=file_help)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--nseg", type=_positive_int, default=None, help="segments per section (default 1)")
    group.add_argument("--d-lambda", type=_positive_float, default=None, metavar="F",
                       help="NEURON's d_lambda rule with lambda_f(100)")
    parser.add_argument("--Ra", type=_positive_float, default=35.4 if defaults else None,
                        help="axial resistivity, ohm cm (35.4)")
    parser.add_argument("--cm", type=_positive_float, default=1.0 if defaults else None,
                        help="membrane capacitance, uF/cm2 (1)")
    parser.add_argument("--strict", action="store_true",
                        help="refuse files NEURON would silently repair instead of repairing them")


class _Parser(argparse.ArgumentParser):
    """argparse with the contract's error form: one line on stderr and exit status 2 (no usage block)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="neurax", description="NEURON-exact, differentiable neuron simulation.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    inspect = sub.add_parser("inspect", help="import a morphology as NEURON would and summarise it",
                             description="Import a morphology (SWC, Neurolucida ASC, MorphIO H5) exactly as "
                             "NEURON's Import3d does, discretise it and summarise it.")
    _add_cell_arguments(inspect, "morphology file (default: the bundled demo cell)", defaults=True)
    inspect.add_argument("--json", metavar="OUT", help="write sections and segments as JSON ('-' for stdout)")

    sim = sub.add_parser("simulate", help="simulate a cell exactly as NEURON's fixed-step method would",
                         description="Simulate a morphology with NEURON's fixed-step backward Euler. Without FILE, "
                         "runs the bundled demo cell and protocol and writes neurax-demo.npz and neurax-demo.png.")
    _add_cell_arguments(sim, "morphology file (default: the bundled demo cell and protocol)", defaults=False)
    sim.add_argument("--mechanism", choices=("hh", "pas"), default="hh", help="inserted everywhere (default hh)")
    sim.add_argument("--celsius", type=float, default=6.3, help="temperature, degC (6.3)")
    sim.add_argument("--v-init", type=float, default=-65.0, help="initial voltage, mV (-65)")
    sim.add_argument("--dt", type=_positive_float, default=0.025, help="time step, ms (0.025)")
    sim.add_argument("--tstop", type=float, default=None, help="simulated time, ms (100 for the demo, else 5)")
    sim.add_argument("--rates", choices=("table", "exact"), default="table", help="hh rates: NEURON's table or exact")
    sim.add_argument("--iclamp", action="append", default=None, metavar="'SEC(X),DELAY,DUR,AMP'",
                     help="current clamp (nA); repeatable")
    sim.add_argument("--record", action="append", default=None, metavar="'SEC(X)'",
                     help="record the voltage here; repeatable (default soma[0](0.5), else the first section's middle)")
    sim.add_argument("--out", help="write t and one array per --record to this .npz")
    sim.add_argument("--plot", help="write a PNG of the traces and the morphology coloured by peak voltage")
    sim.add_argument("--float32", action="store_true", help="single precision (less exact, about 20%% faster)")
    return parser


def _check_writable(option: str, target: str | None) -> None:
    """Refuse an output path whose folder is missing or read-only before any work is done."""
    from neurax.errors import NeuraxError

    if not target or target == "-":
        return
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise NeuraxError(f"cannot write {option} {target}: folder {folder} does not exist (create it first)")
    if os.path.isdir(target):
        raise NeuraxError(f"cannot write {option} {target}: it is a folder (give a file name)")
    if not os.access(folder, os.W_OK):
        raise NeuraxError(f"cannot write {option} {target}: folder {folder} is not writable")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 success, 2 bad input)."""
    from neurax.errors import NeuraxError

    args = _parser().parse_args(argv)
    try:
        if args.command == "inspect":
            return _inspect(args)
        if args.command == "simulate":
            return _simulate(args)
    except NeuraxError as err:
        print(f"neurax: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"neurax: error: {err}", file=sys.stderr)
        return 2
    return 2  # pragma: no cover - argparse rejects unknown commands


def _inspect(args: argparse.Namespace) -> int:
    from neurax.compartments import DLambda, discretize
    from neurax.errors import MorphologyRepairWarning
    from neurax.io import load

    path = args.file or str(DEMO_CELL)
    _check_writable("--json", args.json)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MorphologyRepairWarning)
        morph = load(path, strict=args.strict)
    policy = DLambda(args.d_lambda) if args.d_lambda is not None else (args.nseg or 1)
    tree = discretize(morph, policy, Ra=args.Ra, cm=args.cm)
    if args.json:
        document = inspect_document(tree)
        if args.json == "-":
            json.dump(document, sys.stdout)
            sys.stdout.write("\n")
        else:
            with open(args.json, "w") as handle:
                json.dump(document, handle)
    out = sys.stderr if args.json == "-" else sys.stdout
    print(summary(tree, policy_text=_policy_text(args)), file=out)
    return 0


#: The demo protocol: hh everywhere on the demo cell, d_lambda 0.1 at Ra 100, a 80 ms soma current step.
DEMO = {"d_lambda": 0.1, "Ra": 100.0, "tstop": 100.0, "iclamp": ["soma[0](0.5),5,80,2"],
        "record": ["soma[0](0.5)", "apic[60](1)", "dend[20](1)", "axon[0](1)"],
        "out": "neurax-demo.npz", "plot": "neurax-demo.png"}


def _simulate(args: argparse.Namespace) -> int:
    import time

    import numpy as np

    from neurax.cell import Cell
    from neurax.compartments import DLambda
    from neurax.errors import MorphologyRepairWarning
    from neurax.io import load
    from neurax.mechanisms import HH, Pas
    from neurax.simulation import Run
    from neurax.stimuli import IClamp

    demo = args.file is None
    defaults = DEMO if demo else {}
    path = args.file or str(DEMO_CELL)
    d_lambda = args.d_lambda if args.d_lambda is not None else (None if args.nseg else defaults.get("d_lambda"))
    policy = DLambda(d_lambda) if d_lambda is not None else (args.nseg or 1)
    Ra = args.Ra if args.Ra is not None else defaults.get("Ra", 35.4)
    cm = args.cm if args.cm is not None else 1.0
    tstop = args.tstop if args.tstop is not None else defaults.get("tstop", 5.0)
    clamps = [IClamp.parse(text) for text in (args.iclamp if args.iclamp is not None else defaults.get("iclamp", []))]
    record = args.record or defaults.get("record")
    out, plot = args.out or defaults.get("out"), args.plot or defaults.get("plot")
    for option, target in (("--out", out), ("--plot", plot)):
        _check_writable(option, target)

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MorphologyRepairWarning)
        morph = load(path, strict=args.strict)
    cell = Cell(morph, policy, Ra=Ra, cm=cm).insert(HH() if args.mechanism == "hh" else Pas())
    t_load = time.perf_counter() - t0
    import jax.numpy as jnp

    run = Run(cell, clamps, record, tstop=tstop, dt=args.dt, v_init=args.v_init, celsius=args.celsius,
              rates=args.rates, dtype=jnp.float32 if args.float32 else jnp.float64, peak=True)
    timings: dict = {}
    solution = run.finish(run.chunked(progress=sys.stderr.isatty() or run.steps >= 40000, timings=timings))
    v = np.asarray(solution.v)
    t = np.asarray(solution.t)
    spikes = [int(np.count_nonzero((trace[1:] >= -20.0) & (trace[:-1] < -20.0))) for trace in v]
    print(f"{path}{' (demo protocol)' if demo else ''}")
    print(f"  {len(morph)} sections, {cell.tree.n_segments} compartments ({cell.tree.n_nodes} nodes); "
          f"{args.mechanism} everywhere; {_policy_text_sim(policy, Ra, cm)}")
    print(f"  {run.steps} steps of {args.dt:g} ms to {t[-1]:g} ms at {args.celsius:g} degC, rates {args.rates}, "
          f"{'float32' if args.float32 else 'float64'}")
    for clamp in clamps:
        print(f"  IClamp {clamp.location}: {clamp.amp:g} nA from {clamp.delay:g} ms for {clamp.dur:g} ms")
    for name, trace, count in zip(run.record, v, spikes, strict=True):
        print(f"  {name:<20} spikes (-20 mV crossings) {count:3d}  v {trace.min():8.3f} ..  {trace.max():8.3f} mV")
    print(f"  time: load+discretise {t_load:.2f} s, compile {timings['compile']:.2f} s, run {timings['run']:.2f} s")
    if out:
        np.savez(out, t=t, **{name: trace for name, trace in zip(run.record, v, strict=True)})
        print(f"  wrote {out}")
    if plot:
        try:
            from neurax.plot import plot_simulation
        except ImportError:  # pragma: no cover - matplotlib missing
            print("  (no figure: pip install 'neurax[plot]' for matplotlib)")
        else:
            try:
                plot_simulation(solution, cell, plot, peak=np.asarray(timings["carry"][2]),
                                title=f"{os.path.basename(path)}: {args.mechanism}, {len(clamps)} IClamp(s)")
                print(f"  wrote {plot}")
            except ImportError:
                print("  (no figure: pip install 'neurax[plot]' for matplotlib)")
    return 0


def _policy_text_sim(policy, Ra: float, cm: float) -> str:
    rule = f"d_lambda {policy.d_lambda:g}" if hasattr(policy, "d_lambda") else f"nseg {policy}"
    return f"{rule}, Ra {Ra:g} ohm cm, cm {cm:g} uF/cm2"


def _policy_text(args: argparse.Namespace) -> str:
    if args.d_lambda is not None:
        rule = f"d_lambda {args.d_lambda:g} (lambda_f at 100 Hz)"
    else:
        rule = f"nseg {args.nseg or 1}"
    return f"{rule}, Ra {args.Ra:g} ohm cm, cm {args.cm:g} uF/cm2"


def inspect_document(tree) -> dict:
    """The ``inspect --json`` document: sections in NEURON's creation order with points and segments.

    Values are NEURON's: ``L`` (um), ``pt3d`` rows ``[x, y, z, diam]`` (um; ``diam`` as ``diam3d()``
    gives it, the absolute value of a negative stored diameter), and per segment its centre ``x``,
    ``area`` (um^2), ``ri`` (megohm) and ``diam`` (um).
    """
    morph = tree.morphology
    sections = []
    for sec in morph:
        lo, hi = tree.seg_offsets[sec.index], tree.seg_offsets[sec.index + 1]
        sections.append({
            "name": sec.name,
            "parent": None if sec.parent is None else morph[sec.parent].name,
            "parent_x": sec.parent_x,
            "nseg": int(tree.nseg[sec.index]),
            "L": sec.L,
            "n3d": len(sec.points),
            "pt3d": [[x, y, z, abs(d)] for x, y, z, d in sec.points.tolist()],
            "segments": [{"x": float(x), "area": float(a), "ri": float(r), "diam": float(d)}
                         for x, a, r, d in zip(tree.seg_x[lo:hi], tree.seg_area[lo:hi], tree.seg_ri[lo:hi],
                                               tree.seg_diam[lo:hi], strict=True)],
        })
    return {"source": morph.source, "sections": sections,
            "sectionlists": {k: list(v) for k, v in morph.sectionlists.items()},
            "repairs": list(morph.repairs)}


def summary(tree, policy_text: str = "") -> str:
    """A human-readable summary of a discretised morphology."""
    morph = tree.morphology
    lines = [f"{morph.source or 'morphology'}"]
    lines.append(f"  sections: {len(morph)} in {len(morph.roots)} tree(s)")
    lines.append(f"  {'type':<10}{'sections':>9}{'length (um)':>14}{'area (um2)':>14}{'segments':>10}")
    by_base: dict[str, list[int]] = {}
    for sec in morph:
        by_base.setdefault(sec.base, []).append(sec.index)
    for base, idx in by_base.items():
        length = sum(morph[i].L for i in idx)
        area = sum(tree.seg_area[tree.seg_offsets[i]:tree.seg_offsets[i + 1]].sum() for i in idx)
        nseg = int(sum(tree.nseg[i] for i in idx))
        lines.append(f"  {base:<10}{len(idx):>9}{length:>14.1f}{area:>14.1f}{nseg:>10}")
    lines.append(f"  {'total':<10}{len(morph):>9}{morph.total_length:>14.1f}{tree.seg_area.sum():>14.1f}"
                 f"{tree.n_segments:>10}")
    lines.append(f"  compartments: {tree.n_segments} segments, {tree.n_nodes} nodes with the zero-area ends"
                 + (f" ({policy_text})" if policy_text else ""))
    lists = ", ".join(f"{k} {len(v)}" for k, v in morph.sectionlists.items())
    lines.append(f"  section lists: {lists}")
    if morph.repairs:
        lines.append(f"  repairs (as NEURON makes them): {len(morph.repairs)}")
        lines.extend(f"    - {m}" for m in morph.repairs[:10])
        if len(morph.repairs) > 10:
            lines.append(f"    ... and {len(morph.repairs) - 10} more")
    else:
        lines.append("  repairs: none")
    lines.append("  NeuroM: " + _neurom_metrics(morph.source))
    return "\n".join(lines)


def _neurom_metrics(path: str | None) -> str:
    """A few NeuroM morphometrics of the file, or why there are none."""
    if not path:
        return "no file"
    try:
        import morphio

        morphio.set_maximum_warnings(0)
        import neurom as nm

        with open(os.devnull, "w") as devnull, _redirect_stderr(devnull), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. overflow on absurd coordinates: the metrics say so
            m = nm.load_morphology(path)
            orders = nm.get("section_branch_orders", m)
            return (f"neurites {nm.get('number_of_neurites', m)}, bifurcations {nm.get('number_of_bifurcations', m)}, "
                    f"max branch order {max(orders) if len(orders) else 0}, "
                    f"neurite length {nm.get('total_length', m):.1f} um, "
                    f"max radial distance {nm.get('max_radial_distance', m):.1f} um")
    except Exception as err:  # NeuroM/MorphIO refuse files NEURON accepts: report, do not fail
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip()  # MorphIO colours its messages
        text = plain.splitlines()[0] if plain else type(err).__name__
        return f"unavailable ({type(err).__name__}: {text[:100]})"


class _redirect_stderr:  # noqa: N801 - a tiny context manager at the fd level (MorphIO prints from C++)
    def __init__(self, target) -> None:
        self.target = target

    def __enter__(self):
        sys.stderr.flush()
        self.saved = os.dup(2)
        os.dup2(self.target.fileno(), 2)
        return self

    def __exit__(self, *exc) -> None:
        os.dup2(self.saved, 2)
        os.close(self.saved)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
