"""How neurax's NMODL importer copes with real ``.mod`` files: parse, check, build, run; and how fast.

For every ``.mod`` file under the given paths (folders are searched recursively; files with the same bytes
are counted once) the importer goes as far as it can:

* ``parse``: lexer and parser (``neurax.nmodl.parser.parse``), INCLUDE files resolved;
* ``check``: the analysis that refuses what neurax cannot run, naming the file and line;
* ``build``: the mechanism class;
* ``run``: the mechanism on a one-compartment cell (a density mechanism inserted, a point process placed
  at its middle; ARTIFICIAL_CELLs are not run) simulated for 0.1 ms, with a finite result.

A file that stops at some stage stopped with a ``NeuraxError`` (a message for the user) or with anything
else (a bug: listed apart). INCLUDE files are looked for beside the file, in ``MODL_INCLUDE`` and in
``include/<stem>/`` beside it (the layout of a flat corpus whose includes were collected per file).

With ``--nocmodl``, NEURON's own translator (from the ``neuron`` wheel) judges each file too, as ground
truth for "is this valid NMODL". With ``--nmodl``, BlueBrain's ``nmodl`` package (if importable) parses each
file, for the choice of parser.

    python benchmarks/bench_nmodl.py PATH ... [--no-run] [--nocmodl] [--nmodl] [--tsv OUT.tsv]
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

STAGES = ("parse", "check", "build", "run")


def mod_files(paths: list[str]) -> list[Path]:
    """The distinct ``.mod`` files under ``paths`` (by content), sorted by path."""
    seen, out = set(), []
    for path in map(Path, paths):
        files = sorted(path.rglob("*.mod")) if path.is_dir() else [path]
        for f in files:
            if f.is_symlink() or not f.is_file():
                continue
            digest = hashlib.sha256(f.read_bytes()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                out.append(f)
    return sorted(out)


def include_path(f: Path) -> str:
    """MODL_INCLUDE for one file: the user's, then ``include/<stem>/`` beside it if present."""
    extra = f.parent / "include" / f.stem
    return ":".join(p for p in (os.environ.get("MODL_INCLUDE", ""), str(extra) if extra.is_dir() else "") if p)


def neurax_stage(f: Path, run: bool) -> tuple[str, str, float]:
    """(the last stage passed or 'none', the message that stopped it or '', seconds parse+check+build)."""
    import numpy as np

    import neurax as nx
    from neurax.errors import NeuraxError
    from neurax.nmodl.lexer import read_source
    from neurax.nmodl.mechanism import build
    from neurax.nmodl.model import analyze
    from neurax.nmodl.parser import parse

    os.environ["MODL_INCLUDE"] = include_path(f)
    reached, start = "none", time.perf_counter()
    try:
        text = read_source(str(f))
        module = parse(text, str(f))
        reached = "parse"
        model = analyze(module)
        reached = "check"
        cls = build(model, source=text)
        reached = "build"
        seconds = time.perf_counter() - start
        if not run or cls.kind == "artificial":
            return reached, "", seconds
        cell = nx.Cell(nx.load(BALL), 1)
        cell = cell.insert(cls(), on="somatic") if cls.kind == "density" else cell.place(cls(), "soma[0](0.5)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v = np.asarray(nx.simulate(cell, [], tstop=0.1, celsius=34.0).v)
        if not np.all(np.isfinite(v)):
            return reached, "the voltage is not finite after 0.1 ms", seconds
        return "run", "", seconds
    except NeuraxError as error:
        return reached, str(error).replace(str(f), f.name), time.perf_counter() - start
    except Exception as error:  # noqa: BLE001 - a crash is what this benchmark looks for
        return reached, f"CRASH {type(error).__name__}: {error}", time.perf_counter() - start


def nocmodl_verdict(f: Path, nocmodl: str) -> str:
    """'ok' or NEURON's first error line."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MODL_INCLUDE": include_path(f) + f":{f.parent}"}
        proc = subprocess.run([nocmodl, str(f), "-o", tmp], capture_output=True, text=True, env=env, timeout=60,
                              cwd=f.parent)
        if proc.returncode == 0 and any(Path(tmp).glob("*.c*")):
            return "ok"
        lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        return next((ln for ln in lines if "rror" in ln), lines[-1] if lines else "failed")


def nmodl_verdict(f: Path, driver) -> tuple[str, float]:
    """('ok' or the parse error, seconds) for BlueBrain's nmodl."""
    data = f.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    cwd = os.getcwd()
    inc = f.parent / "include" / f.stem
    os.chdir(inc if inc.is_dir() else f.parent)
    start = time.perf_counter()
    try:
        driver.parse_string(text)
        return "ok", time.perf_counter() - start
    except Exception as error:  # noqa: BLE001 - its parse errors are plain RuntimeErrors
        return str(error).splitlines()[0], time.perf_counter() - start
    finally:
        os.chdir(cwd)


BALL = Path(__file__).resolve().parents[1] / "data" / "swc" / "ball_and_stick.swc"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help=".mod files or folders")
    parser.add_argument("--no-run", action="store_true", help="stop at build (no simulation)")
    parser.add_argument("--nocmodl", action="store_true", help="also run NEURON's nocmodl on each file")
    parser.add_argument("--nmodl", action="store_true", help="also parse each file with BlueBrain's nmodl")
    parser.add_argument("--tsv", type=Path, help="write one row per file here")
    args = parser.parse_args(argv)
    files = mod_files(args.paths)
    if not files:
        print("no .mod files found", file=sys.stderr)
        return 2
    nocmodl = None
    if args.nocmodl:
        import importlib.util

        spec = importlib.util.find_spec("neuron")  # found, not imported (that would start NEURON here)
        home = Path(spec.origin).parent if spec and spec.origin else Path("/nonexistent")
        nocmodl = next(iter(home.glob(".data/bin/nocmodl")), None) or shutil.which("nocmodl")
        if nocmodl is None:
            print("--nocmodl: NEURON's nocmodl not found (pip install -e .[neuron])", file=sys.stderr)
            return 2
        os.environ.setdefault("MODLUNIT", str(home / ".data" / "share" / "nrn" / "lib" / "nrnunits.lib"))
    driver = None
    if args.nmodl:
        from nmodl import NmodlDriver

        driver = NmodlDriver()
    rows, reached, reasons, crashes, times = [], collections.Counter(), collections.Counter(), [], []
    nmodl_times, agree = [], collections.Counter()
    for f in files:
        stage, message, seconds = neurax_stage(f, not args.no_run)
        times.append(seconds)
        reached[stage] += 1
        if message.startswith("CRASH"):
            crashes.append((f, message))
        elif message:
            reasons[message.split(": ", 1)[-1] if message.startswith(f.name) else message] += 1
        row = [str(f), stage, message]
        if nocmodl:
            verdict = nocmodl_verdict(f, str(nocmodl))
            row.append(verdict)
            agree[("NEURON ok" if verdict == "ok" else "NEURON rejects",
                   "neurax parses" if stage != "none" else "neurax rejects")] += 1
        if driver is not None:
            verdict, s = nmodl_verdict(f, driver)
            nmodl_times.append(s)
            row.append(verdict)
            agree[("nmodl parses" if verdict == "ok" else "nmodl rejects",)] += 1
        rows.append(row)
    n = len(files)
    print(f"{n} distinct .mod files")
    cumulative = 0
    for stage in reversed(STAGES):
        cumulative += reached[stage]
        if stage == "run" and args.no_run:
            continue
        print(f"  {stage:6s} {cumulative:4d} ({100 * cumulative / n:.0f}%)")
    print(f"  parse+check+build per file: median {1e3 * statistics.median(times):.2f} ms, "
          f"total {sum(times):.2f} s")
    if nmodl_times:
        print(f"  BlueBrain nmodl parse per file: median {1e3 * statistics.median(nmodl_times):.2f} ms")
    for key, count in sorted(agree.items()):
        print(f"  {' / '.join(key)}: {count}")
    print(f"crashes (not a NeuraxError): {len(crashes)}")
    for f, message in crashes:
        print(f"  {f.name}: {message[:160]}")
    print("why files stopped (most common first):")
    for message, count in reasons.most_common(25):
        print(f"  {count:4d}  {message[:110]}")
    if args.tsv:
        args.tsv.write_text("".join("\t".join(r).replace("\n", " ") + "\n" for r in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
