"""The NMODL importer on the project's own corpus of small .mod files (``tests/data/mod/corpus``).

Each file is a NEURON mechanism that NEURON 9.0.2's ``nrnivmodl`` compiles, written for these tests; its
COMMENT says which constructs it exercises. Every file must parse, pass the checks, build (``nx.load_mod``)
and be described by ``neurax mod``. The tests after that check that specific constructs are understood,
against the values NEURON 9.0.2 computes for these same files (``finitialize(-65)`` and one ``fadvance``
at ``dt = 0.025`` ms, ``celsius = 6.3``, in a section with L = 10 um, diam = 3 um).

Files that NEURON accepts and neurax does not (importer bugs) are in :data:`KNOWN_BUGS`; their tests are
strict xfails, so a fix shows up as an unexpected pass.
"""

from __future__ import annotations

import json
import math
import shutil
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import neurax as nx
from neurax.cli import main
from neurax.mechanisms.base import IonUse
from neurax.nmodl import syntax as S
from neurax.nmodl.interpret import Frame, Interpreter
from neurax.nmodl.lexer import read_source
from neurax.nmodl.model import analyze
from neurax.nmodl.parser import parse
from neurax.nmodl.solvers import cnexp_form
from tests.nmodl.nocmodl import needs_nocmodl, nocmodl

CORPUS = Path(__file__).resolve().parents[1] / "data" / "mod" / "corpus"
FILES = sorted(CORPUS.glob("*.mod"))
INCLUDES = tuple(sorted(CORPUS.glob("*.inc")))
LICENCE = "Written for neurax's test suite (MIT licence)."

#: Corpus files NEURON compiles and neurax refuses: importer bugs.
KNOWN_BUGS: dict[str, str] = {}


def _params(files):
    return [pytest.param(p, id=p.name, marks=[pytest.mark.xfail(reason=KNOWN_BUGS[p.name], strict=True)]
                         if p.name in KNOWN_BUGS else []) for p in files]


@cache
def load(stem: str):
    """The mechanism class of a corpus file (built once per session)."""
    return nx.load_mod(str(CORPUS / f"{stem}.mod"))


# -- evaluating blocks on plain numbers (as NEURON would for one instance) ----------------------------------


def environment(cls, v: float = -65.0, celsius: float = 6.3) -> dict:
    """The variables one instance sees: defaults, zeros for ASSIGNED values, START values for STATEs."""
    model = cls.model
    env = dict(model.constants)
    for name, var in model.variables.items():
        if var.kind in ("assigned", "local", "ion", "state") and name not in env:
            env[name] = [0.0] * var.size if var.size else float(var.default or 0.0)
    env.update(cls.defaults)
    env.update(cls.global_params)
    env.update(v=v, t=0.0, dt=0.025, celsius=celsius, secondorder=0.0, diam=3.0, area=math.pi * 3.0 * 10.0)
    return env


def run_initial(cls, **kw) -> dict:
    """The variables after the INITIAL block."""
    env = environment(cls, **kw)
    Interpreter(cls.model, xp=np).run(cls.model.initial.body, Frame(env))
    return env


def call(cls, name: str, *args: float, **kw):
    """``(value, variables)`` after calling FUNCTION or PROCEDURE ``name``."""
    env = environment(cls, **kw)
    block = {**cls.model.functions, **cls.model.procedures}[name]
    return Interpreter(cls.model, xp=np).inline(block, list(args), Frame(env)), env


def one_step(stem: str, v: float = -65.0) -> tuple[dict, dict]:
    """The states after INITIAL and after one step of 0.025 ms at ``v``, through the mechanism interface."""
    import jax.numpy as jnp

    cls = load(stem)
    mech = cls()
    vv = jnp.asarray([v])
    p = {**cls.global_params, **{k: jnp.asarray([x]) for k, x in mech.parameters().items()}}
    ctx = {"dt": 0.025, "celsius": 6.3, "t": 0.0}
    ctx.update(mech.prepare(dict(cls.global_params), ctx))
    s0 = {k: jnp.broadcast_to(jnp.asarray(x, float), vv.shape) for k, x in mech.init(vv, p, ctx).items()}
    s1 = mech.advance(vv, dict(s0), p, {**ctx, "t": 0.025})
    first = {k: float(np.ravel(x)[0]) for k, x in s0.items()}
    return first, {k: float(np.ravel(x)[0]) for k, x in s1.items()}


# -- every file ---------------------------------------------------------------------------------------------


def test_corpus_has_enough_files_of_our_own():
    assert len(FILES) >= 40
    for path in FILES:
        raw = path.read_bytes()
        assert LICENCE.encode() in raw, path.name
        assert raw.startswith(b"TITLE ") or raw.startswith(b"TITLE\t"), path.name
    for path in INCLUDES:
        assert LICENCE.encode() in path.read_bytes(), path.name


@pytest.mark.parametrize("path", _params(FILES))
def test_file_parses_checks_and_builds(path):
    module = parse(read_source(str(path)), str(path))
    model = analyze(module)
    cls = nx.load_mod(str(path))
    assert model.name == cls.name == path.stem  # every file names its mechanism after itself
    assert cls.model.path == str(path)
    assert cls.kind in ("density", "point", "artificial")


BALL = Path(__file__).resolve().parents[2] / "data" / "swc" / "ball_and_stick.swc"
#: Files whose INITIAL sends itself an event (net_send): they need the event queue of networks.
SELF_EVENTS = {"net_receive_watch"}


@pytest.mark.parametrize("path", _params(FILES))
def test_file_runs(path):
    """Every mechanism simulates: inserted on the soma (a point process placed at its middle) for 0.2 ms with a
    current step, finite throughout; what neurax cannot run is refused when the file is read, never here."""
    cls = load(path.stem)
    if cls.kind == "artificial":
        pytest.skip("an ARTIFICIAL_CELL has no membrane to run on")
    for name in cls.model.function_tables:  # a FUNCTION_TABLE needs its data
        cls = cls.with_function_table(name, [-100.0, 100.0], [0.5, 1.5])
    mech = cls()
    cell = nx.Cell(nx.load(BALL), 1)
    cell = cell.insert(mech, on="somatic") if cls.kind == "density" else cell.place(mech, "soma[0](0.5)")
    stim = [nx.IClamp("soma[0](0.5)", 0.05, 1.0, 0.1)]
    if path.stem in SELF_EVENTS:  # events arrive with networks (NetCon, the event queue): a clear refusal now
        with pytest.raises(nx.NmodlError, match=r"net_send\(\) cannot be called here"):
            nx.simulate(cell, stim, tstop=0.2)
        return
    sol = nx.simulate(cell, stim, tstop=0.2, celsius=34.0)
    assert np.all(np.isfinite(np.asarray(sol.v)))


@pytest.mark.parametrize("path", _params(FILES))
def test_neurax_mod_describes_the_file(path, tmp_path, capsys):
    out = tmp_path / "mod.json"
    assert main(["mod", str(path), "--json", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.splitlines()[0].startswith(f"{path}: {path.stem}, a ")
    doc = json.loads(out.read_text())
    assert (doc["file"], doc["name"]) == (str(path), path.stem)


def test_neurax_mod_summary(tmp_path, capsys):
    path = CORPUS / "useion_na_k.mod"
    out = tmp_path / "mod.json"
    assert main(["mod", str(path), "--json", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (f"{path}: useion_na_k, a density mechanism (SUFFIX): useion_na_k: a sodium and a potassium "
                        "current with gates")
    assert "  ion na: reads ena; writes ina" in lines
    assert "  ion k: reads ek; writes ik" in lines
    assert "  currents: ina, ik" in lines
    assert "  states: m, n (states by cnexp)" in lines
    doc = json.loads(out.read_text())
    assert doc["range_parameters"] == [
        {"name": "gnabar", "default": 0.1, "unit": "S/cm2", "hoc": "gnabar_useion_na_k"},
        {"name": "gkbar", "default": 0.03, "unit": "S/cm2", "hoc": "gkbar_useion_na_k"}]
    assert doc["ions"][1] == {"ion": "k", "read": ["ek"], "write": ["ik"], "valence": 1.0}
    assert (doc["kind"], doc["global_parameters"], doc["carried"]) == ("density", [], [])


@needs_nocmodl
@pytest.mark.neuron
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_neuron_translates_the_file(path, tmp_path):
    rc, output = nocmodl(path, tmp_path, INCLUDES)
    assert rc == 0, output
    assert "Error" not in output, output


def test_load_mods_takes_a_folder_in_byte_order(tmp_path):
    for path in (*FILES, *INCLUDES):
        if path.name not in KNOWN_BUGS:
            shutil.copyfile(path, tmp_path / path.name)
    classes = nx.load_mods([str(tmp_path)])
    expected = sorted(p.stem for p in FILES if p.name not in KNOWN_BUGS)
    assert sorted(classes) == expected
    by_order = sorted(classes, key=lambda name: classes[name].order)
    assert by_order == sorted(expected, key=lambda name: name.encode())
    assert [classes[n].order for n in by_order] == [24.0 + k for k in range(len(expected))]


# -- the NEURON block -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("stem, kind", [
    ("density_leak", "density"), ("useion_na_k", "density"), ("point_process_synapse", "point"),
    ("electrode_clamp", "point"), ("net_receive_watch", "point"), ("artificial_cell", "artificial"),
])
def test_kind(stem, kind):
    assert load(stem).kind == kind
    assert load(stem).model.kind == kind


def test_nonspecific_and_electrode_currents():
    leak = load("density_leak").model
    assert (leak.currents, leak.electrode) == (("i",), ())
    clamp = load("electrode_clamp").model
    assert (clamp.currents, clamp.electrode) == (("i",), ("i",))
    assert load("net_receive_watch").model.currents == ()
    assert load("artificial_cell").model.breakpoint is None


def test_sodium_and_potassium():
    cls = load("useion_na_k")
    model = cls.model
    assert model.ions == (IonUse("na", ("ena",), ("ina",), None), IonUse("k", ("ek",), ("ik",), 1.0))
    assert model.currents == ("ina", "ik")
    assert model.states == ("m", "n")
    assert cls.defaults == {"gnabar": 0.1, "gkbar": 0.03}
    assert cls.global_params == {}
    assert {model.variables[n].kind for n in ("ena", "ek", "ina", "ik")} == {"ion"}
    assert model.variables["minf"].kind == "assigned"
    assert cls.carried == ()


def test_calcium_reads_concentrations():
    model = load("useion_ca_ghk").model
    assert model.ions == (IonUse("ca", ("cai", "cao"), ("ica",), None),)
    assert model.currents == ("ica",)
    ghk = model.functions["ghkflux"]
    assert ghk.args == (("v", "mV"), ("ci", "mM"), ("co", "mM"))
    assert ghk.unit == "mA/cm2"
    assert model.functions["efun"].unit is None
    # NEURON 9.0.2: ghkflux_useion_ca_ghk(-65, 1e-4, 2) and (20, 5e-5, 2) at celsius 6.3
    assert call(load("useion_ca_ghk"), "ghkflux", -65.0, 1e-4, 2.0)[0] == pytest.approx(-2092.93929277366,
                                                                                         rel=1e-13)
    assert call(load("useion_ca_ghk"), "ghkflux", 20.0, 5e-5, 2.0)[0] == pytest.approx(-150.29488212145938,
                                                                                        rel=1e-13)


def test_new_ion_with_negative_valence():
    model = load("useion_new_ion").model
    assert model.ions == (IonUse("cl", ("ecl", "cli"), ("icl",), -1.0),)
    assert model.currents == ("icl",)
    assert model.variables["cli"].kind == "ion"
    assert model.variables["ratio"].kind == "assigned"


def test_calcium_pool_writes_a_concentration():
    cls = load("ca_pool")
    model = cls.model
    assert model.ions == (IonUse("ca", ("ica",), ("cai",), 2.0),)
    assert (model.states, model.ion_states, model.currents) == ((), ("cai",), ())
    assert not cls.has_current  # NEURON runs a pool's BREAKPOINT in the state pass only
    assert (cls.current_reads, cls.state_current_reads) == ((), ("ica",))
    assert cls.writes_concentration()
    assert run_initial(cls)["cai"] == 1e-4


def test_range_and_global():
    cls = load("range_global")
    model = cls.model
    assert model.range_params == ("gmax",)
    assert model.global_params == ("vhalf", "k", "erev")  # k and erev are in neither list: GLOBAL
    assert cls.defaults == {"gmax": 0.004}
    assert cls.global_params == {"vhalf": -30.0, "k": 8.0, "erev": -90.0}
    assert model.variables["gnow"].kind == "assigned"
    assert model.variables["ginf"].kind == "assigned"
    assert cls.units == {"gmax": "S/cm2", "vhalf": "mV", "k": "mV", "erev": "mV"}


def test_threadsafe_and_represents_are_annotations():
    model = load("threadsafe_represents").model
    assert model.ions == (IonUse("k", ("ek",), ("ik",), None),)
    assert model.range_params == ("gk",)
    keywords = [stmt.keyword for stmt in model.module.neuron]
    assert keywords == ["THREADSAFE", "SUFFIX", "USEION", "RANGE"]


# -- declarations -----------------------------------------------------------------------------------------------


def test_parameter_forms():
    cls = load("parameter_forms")
    assert cls.defaults == {"gmax": 0.002, "vhalf": -42.5, "slope": -6.0, "frac": 0.25, "tiny": 2.5e-3,
                            "bare": 0.0, "plain": 3.0}
    decls = {d.name: d for d in cls.model.module.parameters}
    assert decls["gmax"].limits == (0.0, 1e9)
    assert decls["slope"].limits == (-100.0, -0.1)
    assert decls["vhalf"].limits is None
    assert (decls["frac"].unit, decls["tiny"].unit, decls["bare"].unit) == ("1", None, None)
    assert decls["bare"].value is None
    assert cls.units["gmax"] == "S/cm2"


def test_constant_block():
    model = load("constant_block").model
    assert (model.constants["q10"], model.constants["erest"]) == (3.0, -65.0)
    assert model.variables["q10"].kind == "constant"
    assert model.range_params == ("g",)


def test_units_constants_are_neurons_doubles():
    constants = load("units_factors").model.constants
    # the doubles nocmodl 9.0.2 writes into the generated C++ (hexadecimal there)
    assert constants["FARADAY"] == 96485.33212331001 == float.fromhex("0x1.78e555060882cp+16")
    assert constants["R"] == 8.31446261815324 == float.fromhex("0x1.0a1013e8990bep+3")
    assert constants["FKILO"] == 96.48533212331002
    assert constants["PI"] == math.pi
    assert constants["FAPPROX"] == 96485.3
    assert constants["DENSITY"] == 0.009999999999999998
    assert load("useion_ca_ghk").model.constants["FARADAY"] == 96485.33212331001
    # NEURON 9.0.2: rtf_units_factors after finitialize at 6.3 degC
    assert run_initial(load("units_factors"))["rtf"] == 24.0811378010647


def test_units_litre_in_cubic_metres():
    assert load("units_factors").model.constants["LITRE"] == float.fromhex("0x1.0624dd2f1a9fdp-10")


def test_assigned_array_and_from_loops():
    cls = load("assigned_array")
    assert cls.model.variables["w"].size == 3
    env = run_initial(cls)
    assert env["w"] == [0.5, 1.0, 1.5]
    assert env["total"] == 3.0  # NEURON: total_assigned_array


def test_state_start_values():
    cls = load("state_start")
    assert (cls.model.variables["s"].default, cls.model.variables["q"].default) == (0.25, -1.0)
    first, after = one_step("state_start")
    assert first == {"s": 0.25, "q": -1.0}  # no INITIAL: NEURON starts the states at START
    assert after == {"s": 0.2525, "q": -1.0025}  # a state-independent right-hand side: s + dt*rate


def test_state_unit_after_start():
    assert load("state_start").model.variables["q"].unit == "1"


def test_a_file_without_suffix_is_named_after_the_file():
    cls = load("no_suffix")
    assert (cls.name, cls.kind) == ("no_suffix", "density")


def test_independent_block_is_ignored():
    cls = load("independent_block")
    assert cls.model.states == ("x",)
    assert cls.model.variables["t"].kind == "special"


def test_define():
    cls = load("define_macro")
    assert cls.model.module.defines == {"NPOOL": 4.0}
    assert cls.model.variables["pool"].size == 4
    env = run_initial(cls)
    assert env["pool"] == [0.0, 2.0, 4.0, 6.0]
    assert env["mean"] == 3.0  # NEURON: mean_define_macro


def test_include_brings_the_functions_of_the_included_file():
    model = load("include_file").model
    assert sorted(model.functions) == ["inc_alpha", "inc_beta"]
    # the included blocks keep their own line numbers (in include_file.inc)
    assert (model.functions["inc_alpha"].line, model.functions["inc_beta"].line) == (4, 8)
    assert call(load("include_file"), "inc_alpha", -20.0)[0] == 0.05
    assert call(load("include_file"), "inc_beta", -20.0)[0] == 0.05
    assert model.states == ("h",)


# -- integration methods ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("stem, solve", [
    ("useion_na_k", {"states": "cnexp"}), ("cnexp_coupled", {"pair": "cnexp"}),
    ("derivimplicit_nonlinear", {"kinetics": "derivimplicit"}), ("cnexp_fallback", {"grow": "cnexp"}),
    ("euler_method", {"approach": "euler"}), ("kinetic_chain", {"scheme": "sparse"}),
    ("kinetic_conserve", {"scheme": "sparse"}), ("kinetic_compartment", {"buffering": "sparse"}),
    ("density_leak", {}),
])
def test_solve_methods(stem, solve):
    from neurax.cli import describe_mod

    assert describe_mod(load(stem))["solve"] == solve


@pytest.mark.parametrize("stem, forms", [
    ("cnexp_linear", {"a": "linear"}),
    ("cnexp_coupled", {"x": "linear", "s": "linear", "w": "absent"}),
    ("state_start", {"s": "absent", "q": "absent"}),
    ("cnexp_fallback", {"u": "nonlinear"}),  # nocmodl: "Could not translate using cnexp method"
    ("derivimplicit_nonlinear", {"w": "product", "p": "nonlinear", "r": "nonlinear"}),
])
def test_how_cnexp_sees_each_equation(stem, forms):
    model = load(stem).model
    (block,) = model.derivatives.values()
    found = {s.target.name: cnexp_form(s.value, s.target.name) for s in S.walk(block.body)
             if isinstance(s, S.Assign) and s.prime}
    assert found == forms


# NEURON 9.0.2: the states after finitialize(-65) and after one fadvance (dt 0.025 ms, v stays -65).
NEURON_STEPS = {
    "cnexp_coupled": ({"x": 1.0, "s": 0.0, "w": 0.0},
                      {"x": 0.9875778004938814, "s": 0.024383382773059716, "w": 0.0743183350370411}),
    "cnexp_linear": ({"a": 0.0}, {"a": 9.484599032584729e-05}),
    "cnexp_fallback": ({"u": 0.2}, {"u": 0.20137513181074387}),
    "derivimplicit_nonlinear": ({"w": 0.5, "p": 0.1, "r": 2.0},
                                {"w": 0.4984471899924291, "p": 0.11751915373402687, "r": 1.9917040650334066}),
    "euler_method": ({"level": 0.0}, {"level": 0.0034999999999999996}),
    "kinetic_chain": ({"c1": 1.0, "c2": 0.0, "o": 0.0},
                      {"c1": 0.998039596597211, "c2": 0.0019412344287091112, "o": 1.9168974079865115e-05}),
    "kinetic_stoichiometry": ({"a": 1.0, "b": 0.5, "c": 0.0, "d": 0.0},
                              {"a": 0.9347855354346701, "b": 0.4779373377683927, "c": 0.0220626622316073,
                               "d": 0.021575901166861304}),
    "kinetic_flux_loss": ({"p": 0.0, "q": 0.0}, {"p": 0.0004987546584426741, "q": 1.236071024641076e-06}),
}


@pytest.mark.parametrize("stem", sorted(NEURON_STEPS))
def test_one_step_equals_neuron(stem):
    first, after = one_step(stem)
    want_first, want_after = NEURON_STEPS[stem]
    assert first == pytest.approx(want_first, rel=1e-12, abs=1e-300)
    assert after == pytest.approx(want_after, rel=1e-12, abs=1e-300)


# -- KINETIC ----------------------------------------------------------------------------------------------------


def _statements(block, kind):
    return [s for s in S.walk(block.body) if isinstance(s, kind)]


def test_kinetic_reactions():
    chain = load("kinetic_chain").model.kinetics["scheme"]
    reactions = _statements(chain, S.Reaction)
    assert [(r.op, [(n, v.name) for n, v in r.lhs], [(n, v.name) for n, v in r.rhs]) for r in reactions] == [
        ("<->", [(1, "c1")], [(1, "c2")]), ("<->", [(1, "c2")], [(1, "o")])]
    stoich = _statements(load("kinetic_stoichiometry").model.kinetics["binding"], S.Reaction)
    assert [[(n, v.name) for n, v in r.lhs] for r in stoich] == [[(1, "a"), (1, "b")], [(2, "a")]]
    flux = _statements(load("kinetic_flux_loss").model.kinetics["turnover"], S.Reaction)
    assert [r.op for r in flux] == ["<<", "<->", "->"]
    assert [r.rates[1] is None for r in flux] == [True, False, True]


def test_f_flux_and_b_flux_are_known_in_kinetic_blocks():
    model = load("kinetic_chain").model
    (assign,) = _statements(model.kinetics["scheme"], S.Assign)
    line = assign.line
    assert assign == S.Assign(S.Var("net", line), S.Binary("-", S.Var("f_flux", line), S.Var("b_flux", line), line),
                              line)
    assert "f_flux" not in model.variables  # local to the KINETIC block
    assert model.variables["net"].kind == "assigned"


def test_compartment_and_ion_concentration_as_kinetic_state():
    model = load("kinetic_compartment").model
    (compartment,) = _statements(model.kinetics["buffering"], S.Compartment)
    assert compartment.species == ("cai", "buf", "cabuf")
    assert (model.states, model.ion_states) == (("buf", "cabuf"), ("cai",))
    assert load("kinetic_compartment").uses == ("diam",)
    assert model.constants["PI"] == math.pi


def test_conserve_and_steadystate():
    model = load("kinetic_conserve").model
    (conserve,) = _statements(model.kinetics["scheme"], S.Conserve)
    assert conserve.rhs == S.Num(1.0, conserve.line)
    (solve,) = _statements(model.initial, S.Solve)
    assert (solve.block, solve.method, solve.steadystate) == ("scheme", None, "sparse")
    first, _ = one_step("kinetic_conserve")
    # NEURON 9.0.2: one backward Euler step of 1e9 ms from the START values
    assert first == pytest.approx({"cl": 0.9379113222335863, "op": 0.010348097156745286,
                                   "inact": 0.051740580609668366}, rel=1e-12)
    assert sum(first.values()) == pytest.approx(1.0, rel=1e-14)


# -- functions, procedures, tables ---------------------------------------------------------------------------------


def test_procedures_and_functions_with_units_and_nested_calls():
    cls = load("procedure_function")
    model = cls.model
    assert model.functions["boltzmann"].args == (("vm", "mV"), ("vh", "mV"), ("k", "mV"))
    assert model.functions["boltzmann"].unit == "1"
    assert (model.functions["halfway"].args, model.functions["halfway"].unit) == ((), "mV")
    assert model.procedures["settle"].args == (("vm", "mV"), ("power", "1"))
    assert call(cls, "halfway")[0] == -35.0
    # NEURON 9.0.2: ginf_procedure_function after finitialize(-65) (BREAKPOINT calls settle(v, 2))
    assert call(cls, "settle", -65.0, 2.0)[1]["ginf"] == 0.0001843326736973329


def test_if_else_chains():
    cls = load("if_else_chain")
    ifs = [s for s in S.walk(cls.model.functions["classify"].body) if isinstance(s, S.If)]
    assert len(ifs) == 5  # if, two else ifs, IF, and the if inside ELSE
    # NEURON 9.0.2: classify_if_else_chain(x) with mode = 1
    values = [call(cls, "classify", x)[0] for x in (-90.0, -60.0, -10.0, 5.0, 42.0, 150.0)]
    assert values == [0.0, 1.0, 2.0, 3.0, -1.0, 13.0]


def test_table_in_a_procedure():
    cls = load("table_procedure")
    (table,) = _statements(cls.model.procedures["rates"], S.Table)
    assert (table.names, table.depend) == (("ninf", "ntau"), ("celsius", "vhalf"))
    interp = Interpreter(cls.model, xp=np)
    assert [interp.eval(e, Frame({})) for e in (table.lo, table.hi, table.n)] == [-100.0, 100.0, 200.0]
    tables = Interpreter(cls.model, xp=np).build_tables(environment(cls))
    lo, mfac, columns, side = tables["rates"]
    assert (lo, mfac, sorted(columns), side) == (-100.0, 1.0, ["ninf", "ntau"], {})
    assert len(columns["ninf"][0]) == 201
    exact = call(cls, "rates", 0.0)[1]
    assert columns["ninf"][0][100] == exact["ninf"]  # grid point -100 + 100*1.0 is exactly 0
    first, _ = one_step("table_procedure")
    assert first["n"] == pytest.approx(0.03444519566621117, rel=1e-13)  # NEURON (table lookup at -65)


def test_a_tabled_procedure_leaves_what_else_it_assigns():
    cls = load("table_side_effect")
    tables = Interpreter(cls.model, xp=np).build_tables(environment(cls))
    *_, side = tables["settables"]
    tadj = 2.71828 ** ((6.3 - 23.4568) / 10)  # six digits, as nocmodl writes the defaults
    assert side == {"tadj": pytest.approx(tadj, rel=1e-15)}  # the last grid point's (the same at every point)
    env = {**environment(cls), "tadj": 0.0, "usetable": 1.0}
    Interpreter(cls.model, tables, xp=np).run(cls.model.initial.body, Frame(env))
    assert env["tadj"] == side["tadj"]  # a lookup sets it as NEURON's table build left it
    table_n = env["n"]
    exact = {**environment(cls), "usetable": 0.0}
    Interpreter(cls.model, xp=np).run(cls.model.initial.body, Frame(exact))
    assert exact["tadj"] == pytest.approx(tadj, rel=1e-15)
    # INITIAL reads usetable: 1 with the table (n = ninf + 0.01), 0 without it
    assert table_n - exact["n"] == pytest.approx(0.01, abs=1e-6)


def test_a_tabled_procedure_sets_a_range_variable_in_the_first_instance_only():
    import jax.numpy as jnp

    cls = load("table_side_effect_range")
    mech, v = cls(), jnp.full(3, -65.0)
    p = {**cls.global_params, **{k: jnp.full(3, x) for k, x in mech.parameters().items()}}
    ctx = {"dt": 0.025, "celsius": 16.0, "t": 0.0}
    table = {**ctx, **mech.prepare(dict(cls.global_params), ctx)}
    # NEURON 9.0.2, three sections with the mechanism, celsius 16, finitialize(-65): tadj of each instance
    assert np.asarray(mech.init(v, p, table)["tadj"]).tolist() == [0.4744118283068194, 0.0, 0.0]
    assert np.asarray(mech.init(v, p, {**ctx, "rates": "exact"})["tadj"]).tolist() == [0.4744118283068194] * 3


def test_parameter_and_start_values_are_nocmodls_six_digits():
    cls = load("table_side_effect")
    assert cls.defaults == {"gbar": 0.0123457}
    assert (cls.global_params["vhalf"], cls.global_params["slope"], cls.global_params["q10"]) == (
        -21.3457, 9.87654, 2.71828)
    assert (cls.global_params["tref"], cls.global_params["taumin"]) == (23.4568, 0.512346)
    assert cls.model.variables["w"].default == 0.333333
    assert [d.value for d in cls.model.module.parameters][:2] == [0.0123456789, -21.3456789]  # as written
    assert load("units_factors").model.constants["FARADAY"] == 96485.33212331001  # UNITS keep every digit


def test_an_ion_name_that_useion_does_not_list_is_the_mechanisms_own():
    cls = load("own_current_pool")
    assert cls.global_params["cao"] == 3.0  # a GLOBAL, not calcium's outside concentration
    assert cls.model.variables["cao"].kind == "global"
    assert [(u.ion, u.read, u.write) for u in cls.ions] == [("ca", (), ("ica",))]


def test_a_written_current_read_by_the_state_pass_is_carried():
    cls = load("own_current_pool")
    assert cls.carried == ("ica",)  # the state pass reads the mechanism's own ica from the current pass
    assert load("useion_ca_ghk").carried == ()


def test_table_in_a_function():
    cls = load("table_function")
    (table,) = _statements(cls.model.functions["opening"], S.Table)
    assert (table.names, table.depend) == ((), ("steep",))
    lo, mfac, columns, side = Interpreter(cls.model, xp=np).build_tables(environment(cls))["opening"]
    assert (lo, mfac, list(columns), side) == (-120.0, 0.5, ["opening"], {})
    assert len(columns["opening"][0]) == 91
    from neurax.cli import describe_mod

    assert describe_mod(cls)["tables"] == ["opening"]


def test_function_table():
    model = load("function_table").model
    table = model.function_tables["taudata"]
    assert (table.args, table.unit, table.body) == ((("v", "mV"),), "ms", ())
    cls = load("function_table")
    cell = nx.Cell(nx.load(BALL), 1)
    with pytest.raises(nx.NmodlError, match=r"FUNCTION_TABLE taudata has no data: make the mechanism with it, "
                       r"function_table.with_function_table\('taudata', x, y\)"):
        nx.simulate(cell.insert(cls(), on="somatic"), tstop=0.1)
    with pytest.raises(nx.NmodlError, match=r"has no FUNCTION_TABLE 'taudat' \(did you mean 'taudata'\?\)"):
        cls.with_function_table("taudat", [0.0, 1.0], [1.0, 2.0])
    with pytest.raises(nx.NmodlError, match="x increasing"):
        cls.with_function_table("taudata", [1.0, 0.0], [1.0, 2.0])
    with pytest.raises(nx.NmodlError, match="same length"):
        cls.with_function_table("taudata", [0.0, 1.0], [1.0])
    slow, fast = (cls.with_function_table("taudata", [-100.0, 100.0], [tau, tau]) for tau in (50.0, 0.5))
    import jax.numpy as jnp

    v, ctx = jnp.asarray([-65.0]), {"dt": 0.025, "celsius": 6.3, "t": 0.0}
    for mech, tau in ((slow, 50.0), (fast, 0.5)):  # cnexp from z = 0: 1 - exp(-dt / tau)
        z = mech().advance(v, mech().init(v, {}, ctx), {}, ctx)["z"]
        assert float(z[0]) == pytest.approx(-math.expm1(-0.025 / tau), rel=1e-12)


def test_math_builtins_and_caret():
    cls = load("math_builtins")
    called = {c.name for s in S.walk(cls.model.functions["mix"].body) if isinstance(s, S.Assign)
              for c in _calls(s.value)}
    assert called >= {"exp", "log", "log10", "pow", "fabs", "sqrt", "sin", "cos", "tan", "tanh", "sinh", "cosh",
                      "atan", "atan2", "asin", "acos", "erf", "floor", "ceil", "fmod"}
    assert run_initial(cls)["total"] == pytest.approx(20.200976332443357, rel=1e-15)  # NEURON
    assert call(cls, "caret", 0.25)[0] == 508.5  # -2^2 + 0.25^0.5 + 2^3^2 = -4 + 0.5 + 512


def _calls(expr):
    if isinstance(expr, S.Call):
        yield expr
        for a in expr.args:
            yield from _calls(a)
    elif isinstance(expr, S.Binary):
        yield from _calls(expr.left)
        yield from _calls(expr.right)
    elif isinstance(expr, S.Unary):
        yield from _calls(expr.operand)


def test_simulator_variables():
    cls = load("specials")
    model = cls.model
    assert {model.variables[n].kind for n in ("v", "t", "dt", "celsius", "diam", "area")} == {"special"}
    assert cls.uses == ("diam", "area")
    env = run_initial(cls)
    # NEURON 9.0.2, L = 10 um, diam = 3 um: area = 94.24777960769379 um2
    assert env["surface"] == pytest.approx(94.24777960769379, rel=1e-15)
    assert env["ratio"] == pytest.approx(10.0, rel=1e-15)


def test_conductance_hints():
    cls = load("conductance_hint")
    assert cls.hints == ("gk", "gl")
    hints = _statements(cls.model.breakpoint, S.Conductance)
    assert [(h.name, h.ion) for h in hints] == [("gk", "k"), ("gl", None)]


def test_from_loops():
    env = run_initial(load("from_to_loop"))
    assert (env["acc"], env["down"]) == (36.0, 9410.0)  # NEURON: acc_from_to_loop, down_from_to_loop


def test_from_loop_with_negative_step_never_runs():
    assert run_initial(load("from_negative_step"))["count"] == 0.0  # NEURON: count_from_negative_step


def test_carried_values():
    cls = load("carried_values")
    assert cls.carried == ("minf", "mtau")  # read by DERIVATIVE, assigned by BREAKPOINT and INITIAL
    assert cls.states == ("m", "minf", "mtau")
    assert load("cnexp_linear").carried == ()


# -- events -------------------------------------------------------------------------------------------------------


def test_net_receive_in_a_point_process():
    model = load("point_process_synapse").model
    assert model.net_receive.args == (("weight", "uS"),)
    (assign,) = _statements(model.net_receive, S.Assign)
    assert assign.target.name == "g"


def test_net_receive_with_initial_and_several_arguments():
    model = load("net_receive_initial").model
    assert model.net_receive.args == (("weight", "uS"), ("tlast", "ms"), ("count", None))
    first = model.net_receive.body[0]
    assert isinstance(first, S.Block) and first.kind == "INITIAL"
    assert [s.target.name for s in first.body] == ["tlast", "count"]
    cls = load("net_receive_initial")
    assert cls.receive_state == ("tlast", "count") and not cls.receive_additive
    assert load("point_process_synapse").receive_state == ()


def test_state_per_connection_through_the_mechanism_interface():
    import jax.numpy as jnp

    cls = load("net_receive_initial")
    mech, v, ctx = cls(), jnp.asarray([-65.0]), {"dt": 0.025, "celsius": 6.3}
    p = {k: jnp.asarray([x]) for k, x in mech.parameters().items()}
    s = {"g": jnp.asarray([0.0])}
    w = (jnp.asarray([0.5]), jnp.asarray([3.0]), jnp.asarray([7.0]))
    assert [float(x[0]) for x in mech.connection_initial(v, s, p, w, {**ctx, "t": 0.0})] == [0.5, -1e9, 0.0]
    states, after = mech.receive_connection(v, s, p, (w[0], jnp.asarray([2.0]), w[2]), {**ctx, "t": 12.0})
    assert [float(x[0]) for x in after] == [0.5, 12.0, 8.0]  # tlast = t, count + 1; the INITIAL block does not run
    assert float(states["g"][0]) == pytest.approx(0.5 * (1 - math.exp(-10.0 / 5.0)), rel=1e-15)


def test_watch_and_net_send_in_initial():
    model = load("net_receive_watch").model
    (watch,) = _statements(model.net_receive, S.Watch)
    assert watch.cond == S.Binary(">", S.Var("v", watch.line), S.Var("thresh", watch.line), watch.line)
    assert watch.flag == S.Num(2.0, watch.line)
    (send,) = _statements(model.initial, S.CallStmt)
    assert send.call.name == "net_send" and send.call.args == (S.Num(0.0, send.line), S.Num(1.0, send.line))


def test_repeated_initial_and_breakpoint_blocks_run_in_order():
    model = load("repeated_blocks").model
    assert [type(st).__name__ for st in model.breakpoint.body] == ["Solve", "Assign", "Assign"]
    env = run_initial(load("repeated_blocks"))
    assert (env["s"], env["scale"]) == (0.5, 1.0)  # the second INITIAL reads what the first set
    env["v"] = -20.0
    Interpreter(model, xp=np).run([st for st in model.breakpoint.body if not isinstance(st, S.Solve)], Frame(env))
    assert env["i"] == pytest.approx(1e-4 * 0.5 * 40.0 * 1.0, rel=1e-15)


def test_state_discontinuity_is_an_assignment():
    cls = load("state_discontinuity")
    (stmt,) = cls.model.net_receive.body
    assert isinstance(stmt, S.Assign) and stmt.target.name == "g" and not stmt.prime
    assert cls.receive_additive  # g = g + weight: events arriving in one step add up
    with pytest.raises(nx.NmodlError, match=r"bad\.mod:2: state_discontinuity takes a variable and a value"):
        parse("NEURON { SUFFIX bad }\nINITIAL { state_discontinuity(1) }\n", "bad.mod")


def test_net_receive_in_an_artificial_cell():
    model = load("artificial_cell").model
    calls = [s.call.name for s in _statements(model.net_receive, S.CallStmt)]
    assert calls == ["net_send", "net_event"]
    assert model.net_receive.args == (("w", None),)
    assert model.range_params == ("tau", "refrac")


# -- comments, VERBATIM, formatting ---------------------------------------------------------------------------------


def test_title_and_comments():
    cls = load("comments_title")
    assert cls.model.title == "comments_title: every kind of comment   : the TITLE takes the rest of its line"
    assert cls.defaults == {"g": 2e-4}
    assert cls.global_params == {"e": -65.0}
    assert len(cls.model.breakpoint.body) == 1  # the COMMENT inside BREAKPOINT is not code


def test_trivial_verbatim_blocks():
    cls = load("verbatim_trivial")
    assert len(cls.model.module.verbatim) == 1
    # `return 0;` in a FUNCTION returns 0 (NEURON 9.0.2: half_verbatim_trivial(3) == 0, level == 0)
    assert call(cls, "half", 3.0)[0] == 0.0
    assert run_initial(cls)["level"] == 0.0


def test_unitsoff_and_unitson():
    # NEURON 9.0.2: xinf_unitsoff after finitialize(-65)
    assert run_initial(load("unitsoff"))["xinf"] == 0.022977369910025615


def test_protect_and_mutex_are_plain_statements():
    body = load("protect_mutex").model.breakpoint.body
    assert [type(s).__name__ for s in body] == ["Assign", "Assign"]
    assert [s.target.name for s in body] == ["calls", "last"]


def test_crlf_line_ends():
    path = CORPUS / "crlf_line_ends.mod"
    raw = path.read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    model = load("crlf_line_ends").model
    (suffix,) = [s for s in model.module.neuron if s.keyword == "SUFFIX"]
    lines = raw.split(b"\r\n")
    assert lines[suffix.line - 1].strip() == b"SUFFIX crlf_line_ends"
    assert load("crlf_line_ends").defaults == {"g": 3e-4}


def test_tabs():
    assert b"\t" in (CORPUS / "tabs_indent.mod").read_bytes()
    assert load("tabs_indent").defaults == {"g": 1e-4, "e": -50.0}


def test_latin1_comment():
    raw = (CORPUS / "latin1_comment.mod").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "\u00b0C" in read_source(str(CORPUS / "latin1_comment.mod"))
    assert load("latin1_comment").model.states == ("x",)


def test_missing_final_newline():
    raw = (CORPUS / "no_final_newline.mod").read_bytes()
    assert raw.endswith(b"}") and not raw.endswith(b"\n")
    assert run_initial(load("no_final_newline"))["level"] == 5.0


def test_several_statements_on_one_line():
    cls = load("one_line_statements")
    assert cls.defaults == {"a": 1.0, "b": 2.0, "c": 3.0}
    assert cls.model.states == ("x", "y2")
    env = run_initial(cls)
    assert [env[n] for n in ("p", "q", "r", "x", "y2")] == [1.0, 2.0, 3.0, 3.0, 6.0]


def test_statements_spread_over_lines():
    cls = load("statement_over_lines")
    assert cls.global_params == {"scale": 2.5}
    assert cls.model.variables["scale"].unit == "1"
    env = run_initial(cls)
    # NEURON 9.0.2: "total = 3 <newline> - 1" is 2, and weighted = 2*2.5 + 4 + 10*2.5
    assert (env["total"], env["weighted"]) == (2.0, 34.0)


def test_braces_on_the_next_line():
    cls = load("brace_next_line")
    assert cls.model.states == ("x",)
    assert (call(cls, "start", 1.0)[0], call(cls, "start", -1.0)[0]) == (1.0, 0.0)


# -- GLOBAL loop bounds -----------------------------------------------------------------------------------------


def test_a_global_loop_bound_is_fixed_when_the_file_is_read(tmp_path):
    """``FROM k = 1 TO mexp`` with a GLOBAL mexp: the loop runs mexp times, as ``p = m * m * m`` would; the
    GLOBAL is fixed (not settable, with a message saying why), and a model file's value rebuilds it."""
    from neurax.nmodl.mechanism import build

    cls = load("loop_bound_global")
    assert cls.fixed == {"mexp": 3.0} and "mexp" not in cls.global_params
    text = read_source(str(CORPUS / "loop_bound_global.mod"))
    loop = "    if (mexp > 0) {\n        FROM k = 1 TO mexp {\n            p = p * m\n        }\n    }\n"
    assert loop in text

    def simulate(mech_cls):
        cell = nx.Cell(nx.load(str(CORPUS.parents[2].parent / "data" / "swc" / "ball_and_stick.swc")), 3)
        cell = cell.insert(mech_cls(), on="somatic").insert(nx.Pas(), on="basal")
        stim = nx.IClamp("soma[0](0.5)", 1.0, 3.0, 0.5)
        return np.asarray(nx.simulate(cell, [stim], ["soma[0](0.5)"], tstop=6.0).v)

    def explicit(power: str):
        path = tmp_path / f"explicit{len(power)}.mod"
        path.write_text(text.replace(loop, f"    p = {power}\n"))
        return nx.load_mod(str(path))

    three = simulate(cls)
    np.testing.assert_allclose(three, simulate(explicit("m * m * m")), rtol=0, atol=1e-12)
    two = build(analyze(parse(text, "loop_bound_global.mod"), {"mexp": 2.0}))
    assert two.fixed == {"mexp": 2.0}
    np.testing.assert_allclose(simulate(two), simulate(explicit("m * m")), rtol=0, atol=1e-12)
    assert np.abs(simulate(two) - three).max() > 1e-3
    cell = nx.Cell(nx.load(str(CORPUS.parents[2].parent / "data" / "swc" / "ball_and_stick.swc")), 1).insert(cls())
    for name in ("mexp_loop_bound_global", "loop_bound_global.mexp"):
        with pytest.raises(nx.NeuraxError, match="bounds a FROM loop in loop_bound_global's .mod file"):
            cell.set(name, 2.0)


def test_verbatim_return_ends_initial(tmp_path):
    """Older files end INITIAL with VERBATIM ``return 0;`` (NEURON 9's C++ refuses it there, earlier versions
    did not): what follows it does not run."""
    text = read_source(str(CORPUS / "legacy_kdr_forms.mod"))
    assert "    q = 1\n}" in text
    path = tmp_path / "legacy_kdr_forms.mod"
    ended = "    q = 1\n    VERBATIM\n    return 0;\n    ENDVERBATIM\n    q = 0.25\n}"
    path.write_text(text.replace("    q = 1\n}", ended))

    def states(cls):
        cell = nx.Cell(nx.load(BALL), 1).insert(cls(), on="somatic")
        return np.asarray(nx.simulate(cell, [nx.IClamp("soma[0](0.5)", 0.1, 1.0, 0.3)], tstop=2.0).v)

    np.testing.assert_array_equal(states(nx.load_mod(str(path))), states(load("legacy_kdr_forms")))
