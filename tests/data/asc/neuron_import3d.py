"""Read Neurolucida files with NEURON's Import3d and print what it makes of them (a test helper).

Usage: ``python neuron_import3d.py FILES.json OUT.jsonl [instantiate]``, or from a test::

    helper = load_helper()            # importlib, see the tests
    results = helper.neuron_read(paths, instantiate=True)   # path -> result dict

For every path in FILES.json one JSON line is written to OUT.jsonl with

* ``sections``: ``Import3d_Neurolucida3.sections`` after ``input()`` (type, raw points as float.hex strings,
  parent index, parentx, first, iscontour, is_subsidiary, contour_list);
* ``somas``: with ``instantiate``, the 3-D points NEURON stores in every soma section (float32 values);
* ``error``/``error_line``: when NEURON's parser stopped (``parse error``) or hoc raised.

NEURON's parser ends with hoc ``stop`` on a syntax error, which leaves the interpreter unusable for the next
file, so the helper exits after the first file with an error; callers restart it for the remaining files. A file
that makes NEURON crash or loop forever (10 s) gets the error "crash or hang".
"""

import json
import os
import re
import subprocess
import sys
import tempfile

h = None  # neuron.h, imported only in the helper process


def neuron_read(paths, instantiate=False, timeout=120):
    """Run this helper in fresh NEURON processes until every path has a result; return path -> result."""
    results = {}
    todo = [str(p) for p in paths]
    workdir = tempfile.mkdtemp(prefix="nrn_import3d_")
    while todo:
        listing = os.path.join(workdir, "files.json")
        out = os.path.join(workdir, "out.jsonl")
        with open(listing, "w") as fh:
            json.dump(todo, fh)
        if os.path.exists(out):
            os.unlink(out)
        cmd = [sys.executable, __file__, listing, out] + (["instantiate"] if instantiate else [])
        try:
            subprocess.run(cmd, timeout=timeout, capture_output=True, check=False)
        except subprocess.TimeoutExpired:
            pass
        done = []
        if os.path.exists(out):
            with open(out) as fh:
                done = [json.loads(line) for line in fh if line.strip()]
        for res in done:
            results[res["path"]] = res
        if len(done) < len(todo) and not (done and "error" in done[-1]):
            # the helper died or hung on this file (NEURON loops forever on some broken files)
            results[todo[len(done)]] = {"path": todo[len(done)], "error": "crash or hang", "printed": ""}
            done.append(None)
        todo = todo[len(done):]
    return results


def raw_sections(reader):
    """The reader's ``sections`` list as JSON-able dicts."""
    secs = list(reader.sections)
    index = {s.hname(): i for i, s in enumerate(secs)}
    out = []
    for s in secs:
        n = int(s.raw.ncol())
        pts = [[s.raw.getval(k, j).hex() for k in range(3)] + [s.d.x[j].hex()] for j in range(n)]
        parent = s.parentsec
        stack = [index[c.hname()] for c in s.contour_list] if s.contour_list is not None else []
        out.append({"type": int(s.type), "pts": pts, "parent": index[parent.hname()] if parent is not None else None,
                    "parentx": s.parentx, "first": int(s.first), "iscontour": int(s.iscontour_),
                    "sub": int(s.is_subsidiary), "cl": stack})
    return out


def run(path, instantiate):
    """Read one file with NEURON (capturing hoc's printout, which tells a parse error)."""
    capture = tempfile.TemporaryFile()
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(capture.fileno(), 1)
    error = None
    sections = somas = None
    reader = h.Import3d_Neurolucida3()
    reader.quiet = 1
    try:
        reader.input(path)
    except Exception as exc:  # hoc execerror
        error = f"hoc: {exc}"
    if error is None and reader.sections is not None:
        sections = raw_sections(reader)
        if instantiate:
            try:
                h.Import3d_GUI(reader, False).instantiate(None)
                somas = {}
                for s in h.allsec():
                    if s.name().startswith("soma"):
                        somas[s.name()] = [[s.x3d(i), s.y3d(i), s.z3d(i), s.diam3d(i)] for i in range(s.n3d())]
            except Exception as exc:
                somas = f"error: {exc}"
            for s in list(h.allsec()):
                h.delete_section(sec=s)
    os.dup2(saved, 1)
    os.close(saved)
    capture.seek(0)
    printed = capture.read().decode("latin-1")
    result = {"path": path, "printed": printed[-2000:]}
    if "parse error" in printed:
        m = re.search(r"itok=\d+ on line (\d+) token=(\w+)", printed)
        result.update(error="parse error", error_line=int(m.group(1)) if m else None,
                      error_token=m.group(2) if m else None)
    elif error is not None:
        result["error"] = error
    elif sections is None:
        result["error"] = "no sections"
    else:
        result.update(sections=sections, somas=somas)
    return result


if __name__ == "__main__":
    from neuron import h

    h.load_file("stdlib.hoc")
    h.load_file("import3d.hoc")
    import signal

    paths = json.load(open(sys.argv[1]))
    instantiate = len(sys.argv) > 3 and sys.argv[3] == "instantiate"
    with open(sys.argv[2], "w") as out:
        for p in paths:
            signal.alarm(10)  # NEURON loops forever on some broken files: SIGALRM ends this process
            res = run(p, instantiate)
            signal.alarm(0)
            out.write(json.dumps(res) + "\n")
            out.flush()
            if "error" in res:
                break
