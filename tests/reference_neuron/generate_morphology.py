"""Generate NEURON reference data for morphology import.

For every morphology file this script starts a fresh Python subprocess (which isolates NEURON's global state,
survives segfaults and is killed after 300 s) that imports the file exactly as NEURON 9's Import3d does::

    h.load_file("stdlib.hoc"); h.load_file("import3d.hoc")
    r = h.Import3d_SWC_read()          # .swc   (h.Import3d_Neurolucida3() for .asc)
    r.input(path)
    h.Import3d_GUI(r, False).instantiate(None)

and stores, in ``tests/reference_neuron/morphology/<group>__<filename>.npz`` (compressed):

* ``meta``: a JSON string with the source, the status (``ok``/``error``), the error text, everything NEURON
  printed during ``input`` + ``instantiate`` (file descriptors 1 and 2 redirected at the OS level), the
  sections in ``h.allsec()`` order (name, parent, parent_x, n3d, L), the section lists derived from the names,
  the per-configuration Ra / cm / nseg / error, and the reader's raw ``Import3d_Section`` list (dumped before
  ``instantiate``, whose ``chk_valid`` may remove entries);
* arrays: ``pt3d`` (N, 4: x, y, z, diam), ``arc3d`` (N,), ``pt3d_offsets`` (nsec + 1), ``raw_points`` (M, 4),
  ``raw_iline`` (M,), ``raw_offsets``, and per configuration ``<cfg>_x``, ``<cfg>_area``, ``<cfg>_ri``,
  ``<cfg>_diam``, ``<cfg>_seg_offsets`` (nsec + 1), ``<cfg>_ri1`` (``sec(1).ri()``).  SWC references also hold
  ``swc_table`` (K, 8: id, type, x, y, z, diameter, pid, line), the reader's sample table after its sort.

Configurations: ``nseg1`` (Ra 35.4, cm 1, nseg 1), ``nseg3`` (Ra 35.4, cm 1, nseg 3) and ``dlambda`` (Ra 100,
cm 1, ``nseg = int((L / (0.1 * lambda_f(100)) + 0.9) / 2) * 2 + 1``).  ``h.define_shape()`` is never called.

H5 files are first converted to exact ASC text with :func:`h5_to_asc.h5_to_asc_text` (NEURON has no H5
reader).  In the stored messages the path of the file NEURON read is replaced by ``<input>``.

Usage::

    python tests/reference_neuron/generate_morphology.py [--only SUBSTRING] [--jobs N] [--root DIR]

Run ``tests/reference_neuron/random_morphologies.py`` to (re)write the random morphologies in
``tests/data/random/`` and their references; this script includes those files when they exist.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import ctypes
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
OUT_DIR = HERE / "morphology"
DEFAULT_ROOT = Path(os.environ.get("NEURAX_MORPHOLOGIES", "/work/shared/morphologies"))
RANDOM_DIR = REPO / "tests" / "data" / "random"
REORDERED_DIR = REPO / "tests" / "data" / "reordered"
TIMEOUT_S = 300
FORMAT_VERSION = 1
#: Replaces the path of the file NEURON read in the stored messages (keeps references machine-independent).
INPUT_PLACEHOLDER = "<input>"

#: (name, Ra, cm, nseg) where nseg None means the d_lambda rule.
CONFIGS = (
    ("nseg1", 35.4, 1.0, 1),
    ("nseg3", 35.4, 1.0, 3),
    ("dlambda", 100.0, 1.0, None),
)

#: Names of the standard section lists (neurax's documented rule).
STANDARD_LISTS = {"soma": "somatic", "axon": "axonal", "dend": "basal", "apic": "apical"}


# ----------------------------------------------------------------------------------------------------------
# Jobs
# ----------------------------------------------------------------------------------------------------------


def file_format(path: Path) -> str:
    """Return ``swc``, ``asc`` or ``h5`` from the file name (case-insensitive)."""
    suffix = path.suffix.lower()
    if suffix not in (".swc", ".asc", ".h5"):
        raise ValueError(f"unsupported morphology file {path}")
    return suffix[1:]


def output_path(group: str, path: Path) -> Path:
    """Reference file for ``path`` in ``group``: ``<group>__<filename>.npz``."""
    return OUT_DIR / f"{group}__{path.name}.npz"


def collect_jobs(root: Path) -> list[dict]:
    """All morphologies to process: the shared files, the reordered file and the random files."""
    jobs = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix.lower() in (".swc", ".asc", ".h5"):
            rel = path.relative_to(root)
            group = rel.parts[0] if len(rel.parts) > 1 else "root"
            jobs.append({"group": group, "path": str(path), "source": str(rel), "source_root": "morphologies"})
    for group, folder in (("reordered", REORDERED_DIR), ("random", RANDOM_DIR)):
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.suffix.lower() in (".swc", ".asc"):
                    jobs.append(
                        {
                            "group": group,
                            "path": str(path),
                            "source": str(path.relative_to(REPO)),
                            "source_root": "repo",
                        }
                    )
    return jobs


# ----------------------------------------------------------------------------------------------------------
# The reordered SWC file
# ----------------------------------------------------------------------------------------------------------


def parse_swc_samples(text: str) -> list[list[str]]:
    """Data lines of an SWC text as token lists (comments and blank lines dropped)."""
    samples = []
    for line in text.splitlines():
        stripped = line.split("#", 1)[0].strip()
        if stripped:
            samples.append(stripped.split())
    return samples


def sort_swc_text(text: str, origin: str) -> str:
    """Renumber SWC samples parent-before-child.

    Depth-first from each root in file order, children visited in the order they appear in the file; the new
    ids are 1..n in that order and the parent ids are remapped.  The x, y, z and radius text is kept as is.
    """
    samples = parse_swc_samples(text)
    ids = [int(float(s[0])) for s in samples]
    pids = [int(float(s[6])) for s in samples]
    index_of = {sid: i for i, sid in enumerate(ids)}
    children: dict[int, list[int]] = {i: [] for i in range(len(samples))}
    roots = []
    for i, pid in enumerate(pids):
        if pid in index_of:
            children[index_of[pid]].append(i)
        else:
            roots.append(i)
    order: list[int] = []
    for root in roots:
        stack = [root]
        while stack:
            i = stack.pop()
            order.append(i)
            stack.extend(reversed(children[i]))
    if len(order) != len(samples):
        raise ValueError("SWC samples do not form a forest (a cycle?)")
    new_id = {old: k + 1 for k, old in enumerate(order)}
    lines = [
        f"# {Path(origin).name} renumbered parent-before-child",
        "# by tests/reference_neuron/generate_morphology.py (sort_swc_text):",
        "# (depth-first from each root in file order, children in file order, ids 1..n, parents remapped)",
    ]
    for old in order:
        s = samples[old]
        pid = pids[old]
        new_pid = new_id[index_of[pid]] if pid in index_of else -1
        lines.append(" ".join([str(new_id[old]), s[1], s[2], s[3], s[4], s[5], str(new_pid)]))
    return "\n".join(lines) + "\n"


def write_reordered(root: Path) -> Path | None:
    """Write ``tests/data/reordered/simple_reversed_sorted.swc`` from ``neurom/simple_reversed.swc``."""
    src = root / "neurom" / "simple_reversed.swc"
    if not src.is_file():
        return None
    REORDERED_DIR.mkdir(parents=True, exist_ok=True)
    dst = REORDERED_DIR / "simple_reversed_sorted.swc"
    dst.write_text(sort_swc_text(src.read_text(), str(src.relative_to(root))))
    return dst


# ----------------------------------------------------------------------------------------------------------
# Parent side: run one worker subprocess per file
# ----------------------------------------------------------------------------------------------------------


def split_messages(text: str) -> list[str]:
    """Split captured output into message lines (a carriage return rewrites the line, as on a terminal)."""
    lines = []
    for line in text.split("\n"):
        parts = [p for p in line.split("\r") if p.strip()]
        if parts:
            lines.append(parts[-1].rstrip())
    return lines


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def write_error_reference(out: Path, meta: dict) -> None:
    """Store a reference that records only a failure (no sections)."""
    meta = dict(meta)
    meta.setdefault("sections", [])
    meta.setdefault("sectionlists", {})
    meta.setdefault("configs", {})
    meta.setdefault("raw_sections", [])
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, meta=np.array(json.dumps(meta, indent=None)))


def process_file(job: dict, out: Path | None = None) -> dict:
    """Make the reference for one job (see :func:`collect_jobs`); return a short summary."""
    path = Path(job["path"])
    fmt = file_format(path)
    out = out or output_path(job["group"], path)
    data = path.read_bytes()
    meta = {
        "format_version": FORMAT_VERSION,
        "group": job["group"],
        "file": path.name,
        "source": job["source"],
        "source_root": job["source_root"],
        "source_sha256": sha256(data),
        "format": fmt,
        "via": None,
        "status": "error",
        "error": None,
        "messages": [],
    }
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="neurax_ref_") as tmp:
        tmp = Path(tmp)
        neuron_input, reader = path, fmt
        if fmt == "h5":
            try:
                sys.path.insert(0, str(HERE))
                from h5_to_asc import h5_to_asc_text, unlabeled_types

                text = h5_to_asc_text(path)
                meta["via"] = {
                    "kind": "morphio->asc",
                    "converter": "tests/reference_neuron/h5_to_asc.py:h5_to_asc_text",
                    "morphio_version": _morphio_version(),
                    "asc_sha256": sha256(text.encode()),
                    "unlabeled_types": unlabeled_types(path),
                }
            except Exception as exc:  # MorphIO cannot read it: that is the reference
                meta["error"] = f"MorphIO conversion failed: {type(exc).__name__}: {exc}"
                write_error_reference(out, meta)
                return summary(meta, out, time.monotonic() - start)
            neuron_input = tmp / (path.stem + ".asc")
            neuron_input.write_text(text)
            reader = "asc"
        messages_file = tmp / "messages.txt"
        spec = {
            "input": str(neuron_input),
            "reader": reader,
            "messages": str(messages_file),
            "output": str(out),
            "meta": meta,
        }
        cmd = [sys.executable, "-u", str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if out.exists():
            out.unlink()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
            rc, timed_out = proc.returncode, False
            tail = (proc.stdout + proc.stderr)[-4000:]
        except subprocess.TimeoutExpired as exc:
            rc, timed_out = None, True
            tail = _as_text(exc.stdout) + _as_text(exc.stderr)
        if rc != 0 or not out.exists():
            captured = messages_file.read_text(errors="replace") if messages_file.exists() else ""
            captured = captured.replace(str(neuron_input), INPUT_PLACEHOLDER)
            meta["messages"] = split_messages(captured)
            meta["messages_raw"] = captured
            meta["returncode"] = rc
            if timed_out:
                meta["error"] = f"timeout after {TIMEOUT_S} s"
            elif rc is not None and rc < 0:
                meta["error"] = f"NEURON process killed by signal {-rc} (returncode {rc})"
            else:
                meta["error"] = f"worker failed (returncode {rc}): {tail.strip()[-2000:]}"
            write_error_reference(out, meta)
    with np.load(out) as ref:
        meta = json.loads(str(ref["meta"]))
    return summary(meta, out, time.monotonic() - start)


def _as_text(data) -> str:
    """Captured output as text (``TimeoutExpired`` may hold bytes even with ``text=True``)."""
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


def summary(meta: dict, out: Path, seconds: float) -> dict:
    """A one-line summary of a finished reference."""
    return {
        "output": str(out),
        "status": meta["status"],
        "error": meta.get("error"),
        "nsec": len(meta.get("sections", [])),
        "nmsg": len(meta.get("messages", [])),
        "seconds": round(seconds, 2),
        "config_errors": {k: v["error"] for k, v in meta.get("configs", {}).items() if v.get("error")},
    }


def _morphio_version() -> str:
    """Installed MorphIO version (best effort)."""
    try:
        from importlib.metadata import version

        return version("morphio")
    except Exception:  # pragma: no cover - metadata missing
        return "unknown"


# ----------------------------------------------------------------------------------------------------------
# Worker side: runs inside the subprocess, talks to NEURON
# ----------------------------------------------------------------------------------------------------------


@contextmanager
def redirect_fds(path: str):
    """Send everything written to file descriptors 1 and 2 to ``path`` (appending) while active."""
    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    sys.stderr.flush()
    libc.fflush(None)
    saved = os.dup(1), os.dup(2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        libc.fflush(None)
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def hoc_vector(v) -> list[float]:
    """Python list of a hoc Vector."""
    return [float(x) for x in v] if v is not None else []


def dump_raw_sections(h, r, reader: str) -> tuple[list[dict], np.ndarray, np.ndarray, np.ndarray]:
    """Dump the reader's ``Import3d_Section`` list (call before ``instantiate``).

    Returns (metadata per raw section, raw points (M, 4), raw iline (M,), offsets).  ``point_index`` and
    ``iline`` give, for every raw point, the reader's point index and file line (-1 for a point the reader
    inserted: the parent point an ASC child copies or the soma centre of a wire; and, in SWC, for the copied
    parent point of a section whose first sample has no parent in the file (a second root, or a pid that
    names no sample): NEURON then indexes its vectors with -1, which reads sample 0).
    """
    sections = list(r.sections) if r.sections is not None else []
    index = {str(s): k for k, s in enumerate(sections)}
    iline = hoc_vector(r.iline)
    if reader == "swc":
        ids = hoc_vector(r.id)
        pids = hoc_vector(r.pid)
        id2index = {int(v): k for k, v in enumerate(ids)}
    metas, points, ilines, offsets = [], [], [], [0]
    for k, s in enumerate(sections):
        raw = s.raw
        n = int(raw.ncol())
        xs, ys, zs = (hoc_vector(raw.getrow(i)) if n else [] for i in range(3))
        ds = hoc_vector(s.d)
        first_id, fid = int(s.id), int(s.fid)
        pidx = []
        for j in range(n):
            if reader == "swc":
                if k == 0 or s.parentsec is None:
                    pidx.append(first_id + j)
                elif j == 0:
                    pidx.append(id2index.get(int(pids[first_id]), -1))
                else:
                    pidx.append(first_id + j - 1)
            else:
                pidx.append(first_id + j - fid if j >= fid else -1)
        for j in range(n):
            points.append((xs[j], ys[j], zs[j], ds[j]))
            ilines.append(int(iline[pidx[j]]) if 0 <= pidx[j] < len(iline) else -1)
        offsets.append(len(points))
        parent = s.parentsec
        contour = s.contour_list
        metas.append(
            {
                "index": k,
                "hoc_name": str(s),
                "type": int(s.type),
                "n": n,
                "id": first_id,
                "pid": int(s.pid),
                "parent": index.get(str(parent), -2) if parent is not None else -1,
                "parentx": float(s.parentx),
                "first": int(s.first),
                "fid": fid,
                "iscontour": int(s.iscontour_),
                "is_subsidiary": int(s.is_subsidiary),
                "contour_list": [index.get(str(c), -2) for c in contour] if contour is not None else None,
                "point_index": pidx,
            }
        )
    return (
        metas,
        np.array(points, dtype=np.float64).reshape(-1, 4),
        np.array(ilines, dtype=np.int64),
        np.array(offsets, dtype=np.int64),
    )


def section_lists(names: list[str]) -> dict[str, list[str]]:
    """Section lists from NEURON names: all, somatic, axonal, basal, apical and one per other prefix."""
    lists: dict[str, list[str]] = {"all": list(names), "somatic": [], "axonal": [], "basal": [], "apical": []}
    for name in names:
        prefix = name.split("[", 1)[0]
        lists.setdefault(STANDARD_LISTS.get(prefix, prefix), []).append(name)
    return lists


def run_config(h, secs, name: str, ra: float, cm: float, nseg: int | None) -> tuple[dict, dict]:
    """Apply one configuration and read the segment geometry; returns (meta, arrays)."""
    meta = {
        "Ra": ra,
        "cm": cm,
        "nseg_rule": "d_lambda 0.1 at 100 Hz" if nseg is None else nseg,
        "nseg": [],
        "error": None,
    }
    try:
        for sec in secs:
            sec.Ra = ra
            sec.cm = cm
        for sec in secs:
            if nseg is None:
                lam = h.lambda_f(100, sec=sec)
                sec.nseg = int((sec.L / (0.1 * lam) + 0.9) / 2) * 2 + 1
            else:
                sec.nseg = nseg
        xs, areas, ris, diams, ri1, offsets = [], [], [], [], [], [0]
        for sec in secs:
            for seg in sec:
                xs.append(seg.x)
                areas.append(seg.area())
                ris.append(seg.ri())
                diams.append(seg.diam)
            offsets.append(len(xs))
            ri1.append(sec(1).ri())
            meta["nseg"].append(int(sec.nseg))
    except Exception as exc:
        meta["error"] = f"{type(exc).__name__}: {exc}"
        meta["nseg"] = []
        return meta, {}
    arrays = {
        f"{name}_x": np.array(xs, dtype=np.float64),
        f"{name}_area": np.array(areas, dtype=np.float64),
        f"{name}_ri": np.array(ris, dtype=np.float64),
        f"{name}_diam": np.array(diams, dtype=np.float64),
        f"{name}_seg_offsets": np.array(offsets, dtype=np.int64),
        f"{name}_ri1": np.array(ri1, dtype=np.float64),
    }
    return meta, arrays


def worker(spec: dict) -> None:
    """Import one file with NEURON and write its reference (runs in the subprocess)."""
    import neuron
    from neuron import h

    meta = spec["meta"]
    meta["neuron_version"] = neuron.__version__
    arrays: dict[str, np.ndarray] = {}
    h.load_file("stdlib.hoc")
    h.load_file("import3d.hoc")
    r = h.Import3d_SWC_read() if spec["reader"] == "swc" else h.Import3d_Neurolucida3()
    error = None
    raw = None
    capture = spec["messages"]
    with redirect_fds(capture):
        try:
            r.input(spec["input"])
        except Exception as exc:
            error = f"input: {type(exc).__name__}: {exc}"
        try:
            raw = dump_raw_sections(h, r, spec["reader"])
        except Exception:
            raw = None
            meta["raw_error"] = traceback.format_exc(limit=2)
        if error is None:
            try:
                h.Import3d_GUI(r, False).instantiate(None)
            except Exception as exc:
                error = f"instantiate: {type(exc).__name__}: {exc}"
    captured = Path(capture).read_text(errors="replace").replace(spec["input"], INPUT_PLACEHOLDER)
    meta["messages"] = split_messages(captured)
    meta["messages_raw"] = captured
    if error is None and "parse error" in meta["messages"]:
        # read_nlcda3.hoc's p_err prints "parse error" and executes hoc `stop`, which returns to Python
        # without an exception: the file is not imported.
        at = meta["messages"].index("parse error")
        error = "parse error: " + " | ".join(meta["messages"][at + 1 : at + 3])
    if raw is not None:
        meta["raw_sections"], arrays["raw_points"], arrays["raw_iline"], arrays["raw_offsets"] = raw
    if spec["reader"] == "swc":
        try:
            cols = [hoc_vector(getattr(r, a)) for a in ("id", "type", "x", "y", "z", "d", "pid", "iline")]
            arrays["swc_table"] = np.array(cols, dtype=np.float64).T.reshape(-1, 8)
        except Exception:
            pass
    if error is not None:
        meta["status"], meta["error"] = "error", error
        write_reference(spec["output"], meta, arrays)
        return
    secs = list(h.allsec())
    names = [s.name() for s in secs]
    sections, pts, arcs, offsets = [], [], [], [0]
    for sec in secs:
        ps = sec.parentseg()
        n = int(sec.n3d())
        for i in range(n):
            pts.append((sec.x3d(i), sec.y3d(i), sec.z3d(i), sec.diam3d(i)))
            arcs.append(sec.arc3d(i))
        offsets.append(len(pts))
        sections.append(
            {
                "name": sec.name(),
                "parent": ps.sec.name() if ps is not None else None,
                "parent_x": float(ps.x) if ps is not None else None,
                "n3d": n,
                "L": float(sec.L),
            }
        )
    arrays["pt3d"] = np.array(pts, dtype=np.float64).reshape(-1, 4)
    arrays["arc3d"] = np.array(arcs, dtype=np.float64)
    arrays["pt3d_offsets"] = np.array(offsets, dtype=np.int64)
    meta["sections"] = sections
    meta["sectionlists"] = section_lists(names)
    meta["configs"] = {}
    for name, ra, cm, nseg in CONFIGS:
        buf = Path(capture).with_suffix(f".{name}.txt")
        with redirect_fds(str(buf)):
            cmeta, carrays = run_config(h, secs, name, ra, cm, nseg)
        printed = buf.read_text(errors="replace").strip()
        if cmeta["error"] and printed:
            cmeta["error"] += "\n" + printed
        meta["configs"][name] = cmeta
        arrays.update(carrays)
    meta["status"], meta["error"] = "ok", None
    write_reference(spec["output"], meta, arrays)


def write_reference(out: str, meta: dict, arrays: dict) -> None:
    """Write the compressed npz (written to a temporary name, then renamed)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta.setdefault("sections", [])
    meta.setdefault("sectionlists", {})
    meta.setdefault("configs", {})
    meta.setdefault("raw_sections", [])
    tmp = out.with_name(out.name + ".part.npz")
    np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, out)


# ----------------------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------------------


def run_jobs(jobs: list[dict], n_jobs: int, log=sys.stdout) -> list[dict]:
    """Process ``jobs`` with ``n_jobs`` parallel subprocesses; print one line per file."""
    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, n_jobs)) as pool:
        futures = {pool.submit(process_file, job): job for job in jobs}
        for fut in concurrent.futures.as_completed(futures):
            job = futures[fut]
            try:
                res = fut.result()
            except Exception as exc:  # a bug here, not a NEURON failure
                res = {
                    "output": job["path"],
                    "status": "generator-bug",
                    "error": repr(exc),
                    "nsec": 0,
                    "nmsg": 0,
                    "seconds": 0,
                    "config_errors": {},
                }
            results.append(res)
            extra = f"  error: {res['error'].splitlines()[0][:100]}" if res["error"] else ""
            cfg = f"  config errors: {sorted(res['config_errors'])}" if res["config_errors"] else ""
            print(
                f"{res['status']:6s} {res['nsec']:4d} secs {res['nmsg']:3d} msgs {res['seconds']:6.2f} s  "
                f"{Path(res['output']).name}{extra}{cfg}",
                file=log,
                flush=True,
            )
    return results


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="process only files whose path contains SUBSTRING")
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="shared morphologies folder")
    parser.add_argument("--out", type=Path, default=None, help="folder for the .npz references")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.out is not None:
        global OUT_DIR
        OUT_DIR = args.out
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    write_reordered(args.root)
    jobs = collect_jobs(args.root)
    if args.only:
        jobs = [j for j in jobs if args.only in j["path"]]
    start = time.monotonic()
    results = run_jobs(jobs, args.jobs)
    size = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    n_err = sum(r["status"] != "ok" for r in results)
    print(
        f"{len(results)} references ({n_err} NEURON failures) in {time.monotonic() - start:.1f} s; "
        f"tests/reference_neuron/ is {size / 1e6:.2f} MB"
    )
    return 1 if any(r["status"] == "generator-bug" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
