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
    _add_cell_arguments(sim, "morphology file, or a model file from 'neurax port' (default: the bundled demo cell "
                        "and protocol)", defaults=False)
    sim.add_argument("--mod", action="append", default=None, metavar="PATH",
                     help="a .mod file or a folder of them (repeatable): their mechanisms become available by their "
                     "NEURON names")
    sim.add_argument("--mechanism", action="append", default=None, metavar="NAME",
                     help="insert this density mechanism on every section: hh, pas or one of --mod's (repeatable; "
                     "default hh)")
    sim.add_argument("--param", action="append", default=None, metavar="NAME=VALUE",
                     help="set a parameter by its NEURON hoc name on every section that has it, e.g. gnabar_hh=0.2, "
                     "e_pas=-70, cm=2, ena=50, cai0_ca_ion=1e-4, a GLOBAL such as q10_NaT (repeatable)")
    sim.add_argument("--celsius", type=float, default=None, help="temperature, degC (6.3; a model file's own)")
    sim.add_argument("--v-init", type=float, default=None, help="initial voltage, mV (-65; a model file's own)")
    sim.add_argument("--dt", type=_positive_float, default=None, help="time step, ms (0.025; a model file's own)")
    sim.add_argument("--tstop", type=float, default=None,
                     help="simulated time, ms (100 for the demo, a model file's own, else 5)")
    sim.add_argument("--rates", choices=("table", "exact"), default=None,
                     help="rate TABLEs as NEURON uses them (table, the default) or the exact formulas")
    sim.add_argument("--iclamp", action="append", default=None, metavar="'SEC(X),DELAY,DUR,AMP'",
                     help="current clamp (nA); repeatable")
    sim.add_argument("--record", action="append", default=None, metavar="'SEC(X)'",
                     help="record the voltage here; repeatable (default soma[0](0.5), else the first section's middle)")
    sim.add_argument("--out", help="write t and one array per --record to this .npz")
    sim.add_argument("--plot", help="write a PNG of the traces and the morphology coloured by peak voltage")
    sim.add_argument("--float32", action="store_true", help="single precision (less exact, about 20%% faster)")
    sim.add_argument("--no-cache", action="store_true",
                     help=f"do not use the compilation cache in ~/.cache/neurax (also: {CACHE_ENV}=0)")

    port = sub.add_parser("port", help="run a NEURON script and write the model it builds to a model file",
                          description="Run SCRIPT (.hoc or .py, in its own folder) in NEURON with the mechanisms of "
                          "every --mod path compiled by nrnivmodl, and write everything that then exists (sections, "
                          "geometry, mechanisms with every segment's parameters, ions, point processes, celsius, "
                          "v_init, dt, tstop) to one self-contained model file that 'neurax simulate MODEL.json' runs "
                          "without NEURON. Needs NEURON (pip install 'neurax[neuron]').")
    port.add_argument("script", help="the NEURON script (.hoc or .py)")
    port.add_argument("--mod", action="append", default=[], metavar="PATH", help=".mod file or folder (repeatable)")
    port.add_argument("--out", required=True, metavar="MODEL.json", help="the model file to write")

    mod = sub.add_parser("mod", help="describe what a .mod file defines (or why neurax cannot use it)",
                         description="Read an NMODL file as neurax's importer does and print what it defines: its "
                         "kind, the ions it reads and writes, its parameters with defaults and units, its states and "
                         "how they are integrated. A file neurax cannot use fails with exit code 2 and "
                         "'neurax: error: FILE:LINE: ...'.")
    mod.add_argument("file", help="the .mod file")
    mod.add_argument("--json", metavar="OUT", help="also write the description as JSON ('-' for stdout)")
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
        if args.command == "mod":
            return _mod(args)
        if args.command == "port":
            return _port(args)
    except NeuraxError as err:
        print(f"neurax: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (``neurax mod F | head``): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as err:
        print(f"neurax: error: {err}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"neurax: error: {OUT_OF_MEMORY}", file=sys.stderr)
        return 2
    except Exception as err:  # XLA's own out-of-memory error (named so that the CLI need not import JAX first)
        if type(err).__name__ in ("XlaRuntimeError", "JaxRuntimeError") and "RESOURCE_EXHAUSTED" in str(err):
            print(f"neurax: error: {OUT_OF_MEMORY}", file=sys.stderr)
            return 2
        raise
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
    clock = _Clock()
    import numpy as np

    from neurax.stimuli import IClamp

    demo = args.file is None
    defaults = DEMO if demo else {}
    path = args.file or str(DEMO_CELL)
    is_model = path.endswith(".json")
    clamps = [IClamp.parse(text) for text in (args.iclamp if args.iclamp is not None else defaults.get("iclamp", []))]
    out, plot = args.out or defaults.get("out"), args.plot or defaults.get("plot")
    for option, target in (("--out", out), ("--plot", plot)):
        _check_writable(option, target)
    params = [_parse_param(text) for text in args.param or []]
    _compilation_cache(args.no_cache)
    import jax
    import jax.numpy as jnp

    from neurax.network import Network
    from neurax.simulation import BLOWUP_MV, Plan, Run, check_parameters

    clock.lap("imports")
    if is_model:
        jobs, settings, describe = _model_jobs(args, path, clamps, params)
    else:
        jobs, settings, describe = _morphology_jobs(args, path, defaults, clamps, params)
    clock.lap("load")
    dtype = jnp.float32 if args.float32 else jnp.float64
    traces, peaks, problems = {}, [], []
    t = None
    spikes: dict = {}
    for job, cell_clamps, record in jobs:
        network = job if isinstance(job, Network) else None
        cell = network.cell if network is not None else job
        check_parameters(cell)
        plan = Plan.of(job, cell_clamps, record, tstop=settings["tstop"], dt=settings["dt"], rates=settings["rates"],
                       dtype=dtype, peak=bool(plot))
        if plan.steps >= PROGRESS_STEPS and network is None:  # a long run: in pieces, with progress
            run = Run(cell, cell_clamps, record, peak=bool(plot), dtype=dtype, **settings)
            clock.lap("set-up")
            done: dict = {}
            solution = run.finish(*run.chunked(progress=True, timings=done))
            clock.add("compile", done["compile"])
            clock.add("run", done["run"])
            peak = np.asarray(done["carry"][2]["vmax"]) if plot else None
        else:
            dynamic = plan.arguments(job, cell_clamps, settings["v_init"], settings["celsius"])
            executable = _executable(plan, dynamic, cell.tree.n_nodes, clock, args.no_cache)
            try:
                raw, peak = jax.block_until_ready(executable(*dynamic))
            except jax.errors.JaxRuntimeError:  # a cached executable that no longer loads right: compile anew
                executable = _executable(plan, dynamic, cell.tree.n_nodes, clock, True)
                raw, peak = jax.block_until_ready(executable(*dynamic))
            solution = plan.solution(raw, cell)
            spikes.update(solution.spike_times())
            clock.lap("run")
        t = np.asarray(solution.t)
        for name, trace in zip(solution.record, np.asarray(solution.v), strict=True):
            traces[name] = trace
        peaks.append((cell, solution, None if peak is None else np.asarray(peak)))
        problem = solution.problem()
        if problem:
            problems.append(problem)
    print(f"{path}{' (demo protocol)' if demo else ''}")
    for line in describe:
        print(f"  {line}")
    print(f"  {len(t) - 1} steps of {settings['dt']:g} ms to {t[-1]:g} ms at {settings['celsius']:g} degC, rates "
          f"{settings['rates']}, {'float32' if args.float32 else 'float64'}")
    for _, cell_clamps, _ in jobs:
        for clamp in cell_clamps:
            print(f"  IClamp {clamp.location}: {float(clamp.amp):g} nA from {float(clamp.delay):g} ms for "
                  f"{float(clamp.dur):g} ms")
    for name, trace in traces.items():
        # a jump past the blow-up bound (or to inf or NaN) is no spike
        count = int(np.count_nonzero((trace[1:] >= -20.0) & (trace[:-1] < -20.0) & (np.abs(trace[1:]) < BLOWUP_MV)))
        print(f"  {name:<20} spikes (-20 mV crossings) {count:3d}  v {np.nanmin(trace):8.3f} ..  "
              f"{np.nanmax(trace):8.3f} mV")
    if spikes:
        print(f"  spike times (ms) of {len(spikes)} source(s):")
        for name, times in list(spikes.items())[:SPIKE_LINES]:
            shown = ", ".join(f"{x:.3f}" for x in times[:12]) + (", ..." if times.size > 12 else "")
            print(f"    {name:<28} {times.size:4d}: {shown}")
        if len(spikes) > SPIKE_LINES:
            print(f"    ... and {len(spikes) - SPIKE_LINES} more (all in --out)")
    if out:
        spike_arrays = {f"spikes:{name}": times for name, times in spikes.items()}
        np.savez(out, t=t, **traces, **spike_arrays)
        print(f"  wrote {out}")
    if plot:
        try:
            from neurax.plot import plot_simulation
        except ImportError:  # pragma: no cover - matplotlib missing
            print("  (no figure: pip install 'neurax[plot]' for matplotlib)")
        else:
            try:
                cell, solution, peak = peaks[0]
                title = f"{os.path.basename(path)}: {describe[-1]}, {len(clamps)} IClamp(s)"
                if spikes:
                    from neurax.plot import plot_raster

                    plot_raster(spikes, t, solution, plot, title=title)
                else:
                    plot_simulation(solution, cell, plot, peak=peak, title=title)
                print(f"  wrote {plot}")
            except ImportError:
                print("  (no figure: pip install 'neurax[plot]' for matplotlib)")
    clock.lap("write")
    print(f"  time: {clock.report()}")
    if problems:
        print(f"neurax: error: {problems[0]} (traces written up to then)" if out else f"neurax: error: {problems[0]}",
              file=sys.stderr)
        return 3
    return 0


#: What the command says when the run does not fit in memory.
OUT_OF_MEMORY = "out of memory for this run: shorten --tstop, raise --dt, record fewer locations or use a smaller model"
#: At most this many spike sources are listed on the screen.
SPIKE_LINES = 20
#: Runs of at least this many steps go in pieces with a progress line.
PROGRESS_STEPS = 40_000
#: Runs shorter than this (steps x nodes) are compiled with XLA's optimisation level 0: 0.40 s instead of 0.78 s for
#: the 1,405-node CA1 cell, while each step runs about 4x slower (0.42 s instead of 0.10 s for 100 ms), so below
#: about 5e6 node-steps the whole command is faster. Results agree to ~1e-11 mV.
QUICK_COMPILE_WORK = 5_000_000
QUICK_COMPILE = {"xla_backend_optimization_level": 0}


class _Clock:
    """Wall time since the process started, split into named parts (the command line's ``time:`` line)."""

    def __init__(self) -> None:
        import time

        self.start = time.perf_counter()
        self.parts: dict[str, float] = {"python": _process_age()}
        self.last = self.start

    def lap(self, name: str) -> None:
        import time

        now = time.perf_counter()
        self.parts[name] = self.parts.get(name, 0.0) + now - self.last
        self.last = now

    def add(self, name: str, seconds: float) -> None:
        """Move ``seconds`` of the time since the last lap to ``name`` (for parts timed elsewhere)."""
        self.parts[name] = self.parts.get(name, 0.0) + seconds
        self.last += seconds

    def report(self) -> str:
        import time

        total = sum(self.parts.values()) + (time.perf_counter() - self.last)
        text = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.parts.items())
        return f"{text}; total {total:.2f} s"


def _process_age() -> float:
    """Seconds since this process started (Python's own start-up and imports before main()), or 0."""
    try:
        with open("/proc/self/stat") as handle:
            start_ticks = float(handle.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as handle:
            uptime = float(handle.read().split()[0])
        age = max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0
    # A shell may exec neurax as its last command (bash -c 'pip install ... && neurax simulate'): the process then
    # started with the shell, and its age counts the earlier commands. Python's start-up is CPU work, so an age
    # far beyond this process's own CPU time (children excluded) is not Python's: report the CPU time then.
    cpu = sum(os.times()[:2])
    return cpu if age > cpu + 1.0 else age


#: Environment variable that turns the compilation caches off (set to 0).
CACHE_ENV = "NEURAX_CACHE"


def cache_folder() -> str:
    """The command line's cache folder: ``$XDG_CACHE_HOME/neurax`` or ``~/.cache/neurax``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "neurax")


def _caching(disabled: bool) -> bool:
    return not disabled and os.environ.get(CACHE_ENV, "1") != "0"


def _compilation_cache(disabled: bool) -> None:
    """Turn on JAX's persistent compilation cache in the user's cache folder (unless disabled), so that a
    simulation of the same kind as an earlier one skips compilation (used by long runs in pieces).
    """
    if not _caching(disabled):
        return
    import jax

    folder = os.path.join(cache_folder(), "jax")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return  # no writable cache folder: compile every time
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def _code_digest() -> str:
    """A digest of neurax's own source files (names, sizes and modification times): a compiled simulation saved
    by other code (an upgrade, an edit) must not be loaded, since its kernels may no longer match the program.
    """
    import hashlib

    root = os.path.dirname(os.path.abspath(__file__))
    h = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(f for f in files if f.endswith(".py")):
            stat = os.stat(os.path.join(folder, name))
            h.update(f"{os.path.relpath(os.path.join(folder, name), root)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return h.hexdigest()


def _executable(plan, dynamic, n_nodes: int, clock, disabled: bool):
    """The compiled simulation of ``plan``: from the cache folder if an equal plan was compiled before (no tracing,
    no compilation), else traced, compiled (quickly for short runs) and saved there.
    """
    import hashlib
    import pickle

    import jax
    import jaxlib

    from neurax.simulation import compiled

    options = QUICK_COMPILE if plan.steps * n_nodes < QUICK_COMPILE_WORK else None
    shapes = [(jax.numpy.shape(x), str(jax.numpy.result_type(x))) for x in jax.tree_util.tree_leaves(dynamic)]
    key = hashlib.sha256(repr((plan.key, str(jax.tree_util.tree_structure(dynamic)), shapes, jax.__version__,
                               jaxlib.__version__, os.environ.get("XLA_FLAGS", ""), options,
                               _code_digest())).encode()).hexdigest()
    path = os.path.join(cache_folder(), "executables", f"{key[:40]}.pkl")
    if _caching(disabled) and os.path.isfile(path):
        try:
            from jax.experimental.serialize_executable import deserialize_and_load

            with open(path, "rb") as handle:
                payload, in_tree, out_tree = pickle.load(handle)
            executable = deserialize_and_load(payload, in_tree, out_tree)
            clock.lap("load compiled")
            return executable
        except Exception:  # noqa: BLE001 - a stale or unreadable entry: compile again
            pass
    lowered = compiled.lower(plan, *dynamic)
    clock.lap("set-up")
    executable = lowered.compile(options)
    clock.lap("compile")
    if _caching(disabled):
        try:
            from jax.experimental.serialize_executable import serialize

            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(f"{path}.part", "wb") as handle:
                pickle.dump(serialize(executable), handle)
            os.replace(f"{path}.part", path)
        except Exception:  # noqa: BLE001 - the cache is an optimisation: never fail a run for it
            pass
        clock.lap("compile")
    return executable


def _morphology_jobs(args, path: str, defaults: dict, clamps: list, params: list):
    """A morphology file with ``--mechanism`` everywhere: one cell to simulate."""
    from neurax.cell import Cell
    from neurax.compartments import DLambda
    from neurax.errors import MorphologyRepairWarning
    from neurax.io import load

    d_lambda = args.d_lambda if args.d_lambda is not None else (None if args.nseg else defaults.get("d_lambda"))
    policy = DLambda(d_lambda) if d_lambda is not None else (args.nseg or 1)
    Ra = args.Ra if args.Ra is not None else defaults.get("Ra", 35.4)
    cm = args.cm if args.cm is not None else 1.0
    available = _mechanisms(args.mod or [])
    names = args.mechanism or ["hh"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MorphologyRepairWarning)
        morph = load(path, strict=args.strict)
    cell = Cell(morph, policy, Ra=Ra, cm=cm)
    for name in names:
        cell = cell.insert(_mechanism(name, available)())
    for name, value in params:
        cell = cell.set(name, value)
    settings = {"tstop": args.tstop if args.tstop is not None else defaults.get("tstop", 5.0),
                "dt": args.dt if args.dt is not None else 0.025,
                "v_init": args.v_init if args.v_init is not None else -65.0,
                "celsius": args.celsius if args.celsius is not None else 6.3,
                "rates": args.rates or "table"}
    describe = [f"{len(morph)} sections, {cell.tree.n_segments} compartments ({cell.tree.n_nodes} nodes); "
                f"{_policy_text_sim(policy, Ra, cm)}", " + ".join(names) + " everywhere"]
    return [(cell, clamps, args.record or defaults.get("record"))], settings, describe


def _model_jobs(args, path: str, clamps: list, params: list):
    """A model file (``neurax port``): its cells with their clamps, the settings it holds unless overridden."""
    from neurax.errors import NeuraxError
    from neurax.port import load_model

    for option, given in (("--mechanism", args.mechanism), ("--mod", args.mod), ("--nseg", args.nseg),
                          ("--d-lambda", args.d_lambda), ("--Ra", args.Ra), ("--cm", args.cm)):
        if given is not None:
            raise NeuraxError(f"{option} does not apply to a model file (it has its own cells; change them with "
                              "--param NAME=VALUE, or in the file)")
    model = load_model(path)
    cells = list(model.cells)
    for name, value in params:
        hits = 0
        problems = []
        for k, cell in enumerate(cells):
            try:
                where = cell.holders(name)
            except NeuraxError as error:
                problems.append(str(error))
                continue
            if where:
                cells[k] = cell.set(name, value, on=where)
                hits += 1
        if not hits:
            raise NeuraxError(f"--param {name}: no section of {path} has it" +
                              (f" ({problems[0]})" if problems else ""))
    extra: list[list] = [[] for _ in cells]
    for clamp in clamps:
        extra[model.cell_of(clamp.location)].append(clamp)
    settings = {key: getattr(args, key) if getattr(args, key) is not None else model.settings[key]
                for key in ("tstop", "dt", "v_init", "celsius", "rates")}
    if model.network is not None:  # one simulation of every cell with its connections
        net = model.network.with_cell(cells[0])
        roots = [f"{sec.name}(0.5)" for sec in cells[0].morphology if sec.parent is None]
        record = args.record or roots[:8]
        for loc in record:
            model.cell_of(loc)  # a clear error for a location no section holds
        wiring = net.wiring
        describe = [f"a network of {len(roots)} cell(s), {len(cells[0].morphology)} sections, "
                    f"{cells[0].tree.n_segments} compartments",
                    f"{net.n_connections} NetCon(s), {len(wiring.stims)} NetStim(s), {len(wiring.source_names)} spike "
                    "source(s)",
                    "model " + " + ".join(sorted({m.name for m, _ in cells[0].mechanisms}))]
        return [(net, [*model.stimuli[0], *extra[0]], record)], settings, describe
    record = args.record or [f"{cell.morphology[0].name}(0.5)" for cell in cells]
    by_cell: dict[int, list[str]] = {}
    for loc in record:
        by_cell.setdefault(model.cell_of(loc), []).append(loc)
    jobs = [(cells[k], [*model.stimuli[k], *extra[k]], locs) for k, locs in by_cell.items()]
    n_comp = sum(cell.tree.n_segments for cell in cells)
    mechs = sorted({m.name for cell in cells for m, _ in cell.mechanisms})
    describe = [f"{len(cells)} cell(s), {sum(len(c.morphology) for c in cells)} sections, {n_comp} compartments",
                "model " + " + ".join(mechs)]
    return jobs, settings, describe


def _mechanisms(paths: list[str]) -> dict:
    """The mechanisms available by name: hh, pas and those of the ``--mod`` paths."""
    from neurax.mechanisms import HH, Pas
    from neurax.nmodl.mechanism import load_mods

    available = {"hh": HH, "pas": Pas}
    for name, cls in load_mods(paths).items() if paths else ():
        if name in available:
            from neurax.errors import NeuraxError

            raise NeuraxError(f"--mod defines {name}, which is a built-in mechanism; rename the SUFFIX")
        available[name] = cls
    return available


def _mechanism(name: str, available: dict):
    """The mechanism class called ``name`` (a clear error with the near names if there is none)."""
    import difflib

    from neurax.errors import NeuraxError

    if name not in available:
        near = difflib.get_close_matches(name, list(available), n=2)
        hint = f" (did you mean {' or '.join(near)}?)" if near else ""
        raise NeuraxError(f"--mechanism {name}: no such mechanism{hint}; available: {', '.join(sorted(available))}"
                          + ("" if len(available) > 2 else "; load .mod files with --mod"))
    cls = available[name]
    if cls.kind != "density":
        raise NeuraxError(f"--mechanism {name}: {name} is a {cls.kind} mechanism, not a density mechanism; "
                          "--mechanism inserts density mechanisms")
    return cls


def _parse_param(text: str) -> tuple[str, float]:
    """``NAME=VALUE`` of ``--param``."""
    from neurax.errors import NeuraxError

    name, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = None
    if not sep or not name.strip() or number is None:
        raise NeuraxError(f"cannot read --param {text!r}; write it as NAME=VALUE with NEURON's hoc name, "
                          "e.g. gnabar_hh=0.2")
    return name.strip(), number


def _port(args: argparse.Namespace) -> int:
    import time

    from neurax.port import port

    _check_writable("--out", args.out)
    t0 = time.perf_counter()
    model = port(args.script, args.mod, args.out)
    n_comp = sum(cell.tree.n_segments for cell in model.cells)
    mechs = sorted({m.name for cell in model.cells for m, _ in cell.mechanisms})
    points = len(model.document.get("point_processes", []))
    print(f"{args.script}: {len(model.cells)} cell(s), {len(model.document['sections'])} sections, {n_comp} "
          f"compartments; mechanisms {', '.join(mechs) or 'none'}; {points} point process(es)")
    s = model.settings
    print(f"  celsius {s['celsius']:g} degC, v_init {s['v_init']:g} mV, dt {s['dt']:g} ms, tstop {s['tstop']:g} ms")
    print(f"  wrote {args.out} ({time.perf_counter() - t0:.1f} s)")
    return 0


def _mod(args: argparse.Namespace) -> int:
    from neurax.nmodl.mechanism import load_mod

    cls = load_mod(args.file)
    document = describe_mod(cls)
    if args.json:
        _check_writable("--json", args.json)
        if args.json == "-":
            json.dump(document, sys.stdout, indent=1)
            sys.stdout.write("\n")
        else:
            with open(args.json, "w") as handle:
                json.dump(document, handle, indent=1)
    out = sys.stderr if args.json == "-" else sys.stdout
    print(mod_summary(document), file=out)
    return 0


def describe_mod(cls) -> dict:
    """What a mechanism class made from a ``.mod`` file defines (the ``neurax mod --json`` document)."""
    model = cls.model
    methods = {s.block: s.method or "PROCEDURE" for s in model.solves}
    return {
        "file": model.path, "name": cls.name, "kind": cls.kind, "title": model.title,
        "ions": [{"ion": u.ion, "read": list(u.read), "write": list(u.write), "valence": u.valence} for u in cls.ions],
        "currents": list(model.currents),
        "range_parameters": [{"name": n, "default": cls.defaults[n], "unit": model.variables[n].unit,
                              "hoc": f"{n}_{cls.name}"} for n in cls.defaults],
        "global_parameters": [{"name": n, "default": v, "unit": model.variables[n].unit, "hoc": f"{n}_{cls.name}"}
                              for n, v in cls.global_params.items()],
        "states": [{"name": n, "unit": model.variables[n].unit} for n in model.states],
        "concentrations_written": list(model.ion_states),
        "solve": methods,
        "tables": sorted(name for name, block in {**model.functions, **model.procedures}.items()
                         if any(type(st).__name__ == "Table" for st in block.body)),
        "carried": list(cls.carried),
        "order": cls.order,
    }


def mod_summary(doc: dict) -> str:
    """The human summary ``neurax mod`` prints."""
    kinds = {"density": "density mechanism (SUFFIX)", "point": "point process (POINT_PROCESS)",
             "artificial": "artificial cell (ARTIFICIAL_CELL)"}
    lines = [f"{doc['file']}: {doc['name']}, a {kinds[doc['kind']]}" + (f": {doc['title']}" if doc["title"] else "")]
    for ion in doc["ions"]:
        read, write = ", ".join(ion["read"]) or "-", ", ".join(ion["write"]) or "-"
        lines.append(f"  ion {ion['ion']}: reads {read}; writes {write}")
    lines.append(f"  currents: {', '.join(doc['currents']) or 'none'}")
    for title, key in (("RANGE parameters", "range_parameters"), ("GLOBAL parameters", "global_parameters")):
        lines.append(f"  {title}:" + ("" if doc[key] else " none"))
        for p in doc[key]:
            unit = f"({p['unit']})" if p["unit"] else ""
            lines.append(f"    {p['name']:<12} = {p['default']:<12g} {unit:<12} hoc {p['hoc']}")
    states = ", ".join(s["name"] for s in doc["states"]) or "none"
    solve = "; ".join(f"{block} by {method}" for block, method in doc["solve"].items()) or "no SOLVE"
    lines.append(f"  states: {states} ({solve})")
    if doc["concentrations_written"]:
        lines.append(f"  concentrations written: {', '.join(doc['concentrations_written'])}")
    if doc["tables"]:
        lines.append(f"  TABLEs: {', '.join(doc['tables'])}")
    return "\n".join(lines)


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
