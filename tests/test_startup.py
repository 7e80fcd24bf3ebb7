"""Fast start and loud failure: one compilation per simulation, light imports, blow-ups and nonsense reported."""

from __future__ import annotations

import subprocess
import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax._src import monitoring

import neurax as nx
from neurax.cli import main
from tests.conftest import REPO

BALL = REPO / "data" / "swc" / "ball_and_stick.swc"


class Compilations:
    """Counts XLA compilations (JAX's own monitoring events) while in use."""

    def __enter__(self):
        self.count = 0
        self._listener = lambda event, duration, **kw: self._seen(event)
        monitoring.register_event_duration_secs_listener(self._listener)
        return self

    def _seen(self, event: str) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            self.count += 1

    def __exit__(self, *exc):
        monitoring.unregister_event_duration_listener(self._listener)


def cell(nseg=3):
    return nx.Cell(nx.load(BALL), nseg, Ra=100.0).insert(nx.HH()).insert(nx.Pas(g=1e-4), on="basal")


def test_a_simulation_is_one_compilation_and_a_second_of_the_same_kind_none():
    base = cell(4)
    stim = [nx.IClamp("soma[0](0.5)", 1.0, 3.0, 0.3)]
    jax.block_until_ready(jnp.zeros(3) + 1)  # JAX's own first-use compilations
    with Compilations() as first:
        sol = nx.simulate(base, stim, ["soma[0](0.5)", "dend[0](1)"], tstop=7.0)
        np.asarray(sol.v)
    assert first.count == 1
    # other parameter values, clamp amplitude and timing, v_init, celsius; and the same file loaded again
    again = cell(4).set("hh.gnabar", 0.2, on="somatic").set("pas.g", 3e-4, on="basal")
    with Compilations() as second:
        sol2 = nx.simulate(again, [nx.IClamp("soma[0](0.5)", 2.0, 1.0, 0.9)], ["soma[0](0.5)", "dend[0](1)"],
                           tstop=7.0, v_init=-60.0, celsius=16.3)
        np.asarray(sol2.v)
    assert second.count == 0
    assert np.abs(np.asarray(sol2.v) - np.asarray(sol.v)).max() > 1.0  # it really used the new values
    # a different structure compiles anew
    with Compilations() as third:
        np.asarray(nx.simulate(cell(5), stim, tstop=7.0).v)
    assert third.count == 1


def test_imports_stay_light():
    code = ("import sys, neurax, neurax.cli; neurax.cli._parser(); "
            "print(any(m == 'jax' or m.startswith('jax.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    help_out = subprocess.run([sys.executable, "-m", "neurax.cli", "--help"], capture_output=True, text=True)
    assert help_out.returncode == 0 and "simulate" in help_out.stdout


def test_reading_mod_files_needs_no_jax():
    """``nx.load_mods`` and ``neurax mod`` read, check and describe mechanisms without importing JAX (most of a
    second): JAX is imported when a mechanism first runs."""
    library = REPO / "neurax" / "channels"
    code = ("import sys, neurax as nx; ms = nx.load_mods([sys.argv[1]]); "
            "print(len(ms), any(m == 'jax' or m.startswith('jax.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(library)], capture_output=True, text=True, check=True)
    count, jax_loaded = out.stdout.split()
    assert int(count) >= 12 and jax_loaded == "False"
    code = ("import sys, neurax.cli; neurax.cli.main(['mod', sys.argv[1]]); "
            "print(any(m == 'jax' or m.startswith('jax.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(library / "SK.mod")], capture_output=True, text=True,
                         check=True)
    assert "nh" in out.stdout and out.stdout.split()[-1] == "False"


def test_blow_up_is_reported_with_step_time_and_place():
    huge = [nx.IClamp("dend[0](0.5)", 1.0, 5.0, 1e9)]
    with pytest.warns(nx.simulation.BlowUpWarning, match=r"blew up at step 41 \(t = 1\.025 ms\) at dend\[0\]"):
        sol = nx.simulate(cell(), huge, tstop=3.0)
    assert not bool(sol.ok)
    with pytest.raises(nx.simulation.SimulationError, match="blew up at step 41"):
        sol.check()
    fine = nx.simulate(cell(), [], tstop=1.0)
    assert bool(fine.ok) and fine.check() is fine and fine.problem() is None


def test_under_jit_a_flag_instead_of_silent_nan():
    base = cell()

    @jax.jit
    def run(amp, gk):
        c = base.set("hh.gkbar", gk)
        sol = nx.simulate(c, [nx.IClamp("soma[0](0.5)", 1.0, 5.0, amp)], tstop=3.0)
        return sol.ok, sol.blowup, sol.invalid

    ok, step, invalid = run(0.1, 0.036)
    assert bool(ok) and int(step) == -1 and not bool(invalid)
    ok, step, invalid = run(1e9, 0.036)
    assert not bool(ok) and int(step) == 40
    ok, _, invalid = run(0.1, -0.036)  # traced: cannot be refused before the run
    assert not bool(ok) and bool(invalid)
    batch = jax.vmap(lambda a: nx.simulate(base, [nx.IClamp("soma[0](0.5)", 1.0, 5.0, a)], tstop=3.0).blowup)(
        jnp.array([0.1, 1e9]))
    assert batch.tolist() == [-1, 40]


@pytest.mark.parametrize("name, value, message", [
    ("hh.gnabar", -0.1, "a conductance cannot be negative"),
    ("gl_hh", -1e-4, "a conductance cannot be negative"),
    ("cm", 0.0, "cm must be positive"),
    ("Ra", -1.0, "Ra must be positive"),
    ("radius_scale", 0.0, "radius_scale must be positive"),
])
def test_nonsense_parameters_are_refused_at_set_up(name, value, message):
    with pytest.raises(nx.NeuraxError, match=message):
        cell().set(name, value)


def test_nonsense_dt_is_refused():
    with pytest.raises(nx.NeuraxError, match="dt must be a positive number"):
        nx.simulate(cell(), [], tstop=1.0, dt=0.0)


def test_command_line_blow_up_exits_3_with_the_traces_written(tmp_path, capsys):
    out = tmp_path / "v.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["simulate", str(BALL), "--nseg", "3", "--tstop", "3", "--iclamp", "soma[0](0.5),1,5,1e9",
                     "--out", str(out), "--no-cache"])
    assert code == 3
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("neurax: error: the simulation blew up at step 41")
    assert "spikes (-20 mV crossings)   0" in captured.out  # the jump past the blow-up bound is no spike
    with np.load(out) as data:
        assert data["soma[0](0.5)"].shape == (121,) and np.isfinite(data["soma[0](0.5)"][:40]).all()


def test_command_line_time_line_accounts_for_the_run(capsys):
    assert main(["simulate", str(BALL), "--nseg", "3", "--tstop", "1", "--no-cache"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "time:" in ln)
    for part in ("python", "imports", "load", "set-up", "compile", "run", "write", "total"):
        assert part in line


def test_time_line_does_not_count_a_shells_earlier_commands():
    """``bash -c 'other work && neurax simulate'`` execs neurax in the shell's process, started before the other work:
    the ``python`` part must not count those 2 s."""
    cmd = f"sleep 2 && exec {sys.executable} -m neurax simulate {BALL} --nseg 3 --tstop 1 --no-cache"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if "time:" in ln)
    python_part = float(line.split("python", 1)[1].split()[0])
    assert python_part < 1.5, line
