"""What the NMODL importer refuses, and how it says so (``tests/data/mod/unsupported``).

One small file per construct. ``neurax mod FILE`` must exit with status 2 and print exactly one line on
stderr, ``neurax: error: FILE:LINE: message``, with the line of the offending construct and a message that
names it; :func:`neurax.load_mod` raises :class:`neurax.NmodlError` with the same text.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import neurax as nx
from neurax.cli import main
from tests.nmodl.nocmodl import needs_nocmodl, nocmodl

UNSUPPORTED = Path(__file__).resolve().parents[1] / "data" / "mod" / "unsupported"
CORPUS = Path(__file__).resolve().parents[1] / "data" / "mod" / "corpus"

#: file -> (line of the construct, a substring of the message that names it)
REFUSED = {
    "verbatim_c.mod": (20, "VERBATIM blocks with C code are not supported"),
    "constructor_verbatim.mod": (11, "VERBATIM blocks with C code are not supported"),
    "pointer.mod": (8, "POINTER variables (vpre) are not supported"),
    "bbcorepointer.mod": (8, "BBCOREPOINTER rng (an opaque pointer for CoreNEURON"),
    "random_var.mod": (8, "RANDOM variables are not supported"),
    "external.mod": (8, "EXTERNAL variables are not supported"),
    "while_loop.mod": (17, "WHILE loops are not supported"),
    "linear_block.mod": (19, "LINEAR blocks are not supported"),
    "nonlinear_block.mod": (18, "NONLINEAR blocks are not supported"),
    "discrete_block.mod": (14, "DISCRETE blocks (discrete-time difference equations) are not supported"),
    "partial_block.mod": (14, "PARTIAL blocks (partial differential equations) are not supported"),
    "longitudinal_diffusion.mod": (26, "LONGITUDINAL_DIFFUSION is not supported"),
    "before_breakpoint.mod": (15, "BEFORE BREAKPOINT blocks are not supported"),
    "after_solve.mod": (15, "AFTER SOLVE blocks are not supported"),
    "for_netcons.mod": (14, "FOR_NETCONS is not supported"),
    "state_array.mod": (11, "STATE arrays (c[3]) are not supported"),
    "normrand_call.mod": (16, "normrand() draws random numbers"),
    "method_unknown.mod": (15, "unknown METHOD magic (NEURON knows cnexp"),
    "method_runge.mod": (15, "METHOD runge is not supported for a DERIVATIVE block"),
    "kinetic_euler.mod": (16, "METHOD euler is not supported for a KINETIC block"),
    "steadystate_derivimplicit.mod": (15, "STEADYSTATE derivimplicit is not supported"),
    "iferror.mod": (15, "IFERROR is not supported"),
    "undeclared_variable.mod": (16, "gamma is used but never declared"),
    "unknown_function.mod": (17, "boost() is neither a FUNCTION or PROCEDURE of this file nor a supported builtin"),
    "wrong_argument_count.mod": (16, "twice() takes 1 argument(s), given 2"),
    "builtin_argument_count.mod": (16, "exp() takes 1 argument(s), given 2"),
    "syntax_error.mod": (16, "expected an expression, found '*'"),
    "unexpected_character.mod": (16, "unexpected character '$'"),
    "unclosed_block.mod": (15, "this '{' is never closed with '}'"),
    "unclosed_comment.mod": (10, "COMMENT is never closed by ENDCOMMENT"),
    "second_suffix.mod": (8, "a second SUFFIX (another_suffix)"),
    "unknown_ion_no_valence.mod": (8, "USEION zz needs a VALENCE"),
    "valence_conflict.mod": (8, "USEION ca VALENCE 1 contradicts the charge NEURON gives ca (2)"),
    "ion_variable_wrong_ion.mod": (8, "USEION na: ek is not a variable of the ion"),
    "state_not_written_ion.mod": (12, "STATE cai is an ion variable that the USEION statement does not WRITE"),
    "include_missing.mod": (10, 'INCLUDE "no_such_file.inc": file not found'),
    "net_send_in_breakpoint.mod": (15, "net_send() is only allowed in NET_RECEIVE"),
    "second_order.mod": (19, "x has a derivative of order 2"),
    "assign_special.mod": (15, "celsius belongs to the simulator and cannot be assigned"),
    "assign_constant.mod": (15, "q10 is a constant and cannot be assigned"),
    "unknown_block.mod": (10, "'SETTINGS' is not an NMODL block keyword"),
    "unknown_neuron_statement.mod": (8, "'EXPORT' is not a NEURON block statement"),
    "solve_missing_block.mod": (15, "SOLVE nowhere: no DERIVATIVE, KINETIC or PROCEDURE of that name"),
    "duplicate_function.mod": (14, "FUNCTION f is defined twice"),
    "breakpoint_reads_own_value.mod": (19, "BREAKPOINT reads count before assigning it"),
    # unclear: the lexer stops at x@1 before the parser sees DISCRETE (line 14)
    "discrete_lag.mod": (15, "unexpected character '@'"),
    # importer bugs: strict xfails
    "kinetic_derivimplicit.mod": (16, "METHOD derivimplicit"),
    "table_two_arguments.mod": (20, "must have exactly one argument"),
    "loop_bound_parameter.mod": (22, "FROM loop bounds must be constants (n is a variable)"),
}
KNOWN_BUGS: dict[str, str] = {}


def _params():
    return [pytest.param(name, *REFUSED[name], id=name,
                         marks=[pytest.mark.xfail(reason=KNOWN_BUGS[name], strict=True)] if name in KNOWN_BUGS else [])
            for name in sorted(REFUSED)]


def one_error_line(argv: list[str], capsys) -> str:
    """Run the command line, check exit status 2 and one stderr line; return that line."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("neurax: error: ")
    return lines[0]


def test_every_unsupported_file_has_a_case():
    assert sorted(p.name for p in UNSUPPORTED.glob("*.mod")) == sorted([*REFUSED, "binary_file.mod"])


@pytest.mark.parametrize("name, line, message", _params())
def test_refused_with_file_line_and_construct(name, line, message, capsys):
    path = UNSUPPORTED / name
    error = one_error_line(["mod", str(path)], capsys)
    assert error.startswith(f"neurax: error: {path}:{line}: ")
    assert message in error
    with pytest.raises(nx.NmodlError) as info:
        nx.load_mod(str(path))
    assert f"neurax: error: {info.value}" == error
    assert (info.value.path, info.value.line) == (str(path), line)


def test_missing_file(tmp_path, capsys):
    path = tmp_path / "absent.mod"
    assert one_error_line(["mod", str(path)], capsys) == f"neurax: error: {path}: no such file"
    with pytest.raises(nx.NmodlError) as info:
        nx.load_mod(str(path))
    assert (info.value.path, info.value.line) == (str(path), None)


def test_binary_file(capsys):
    path = UNSUPPORTED / "binary_file.mod"
    assert b"\x00" in path.read_bytes()
    error = one_error_line(["mod", str(path)], capsys)
    assert error == f"neurax: error: {path}: this is a binary file, not NMODL text"


def test_error_in_an_included_file_names_that_file(tmp_path, capsys):
    (tmp_path / "rates.inc").write_text("FUNCTION rate(v) {\n    rate = 2*\n}\n")
    mod = tmp_path / "uses_rates.mod"
    mod.write_text('NEURON {\n    SUFFIX uses_rates\n}\n\nINCLUDE "rates.inc"\n')
    error = one_error_line(["mod", str(mod)], capsys)
    assert error.startswith(f"neurax: error: {tmp_path / 'rates.inc'}:3: ")
    assert "expected an expression, found '}'" in error


def test_include_found_through_modl_include(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    shutil.copyfile(CORPUS / "include_file.inc", shared / "include_file.inc")
    (tmp_path / "mods").mkdir()
    mod = tmp_path / "mods" / "include_file.mod"
    shutil.copyfile(CORPUS / "include_file.mod", mod)
    with pytest.raises(nx.NmodlError, match="file not found"):
        nx.load_mod(str(mod))
    monkeypatch.setenv("MODL_INCLUDE", str(shared))
    assert sorted(nx.load_mod(str(mod)).model.functions) == ["inc_alpha", "inc_beta"]


def test_load_mods_refuses_a_name_defined_twice(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copyfile(CORPUS / "density_leak.mod", tmp_path / folder / "density_leak.mod")
    with pytest.raises(nx.NmodlError, match="mechanism density_leak is defined twice"):
        nx.load_mods([str(tmp_path / "a"), str(tmp_path / "b")])


def test_load_mods_refuses_an_empty_folder(tmp_path):
    with pytest.raises(nx.NmodlError, match="the folder holds no .mod files"):
        nx.load_mods([str(tmp_path)])


def test_load_mods_stops_at_the_first_bad_file(tmp_path):
    shutil.copyfile(CORPUS / "density_leak.mod", tmp_path / "a_good.mod")
    shutil.copyfile(UNSUPPORTED / "while_loop.mod", tmp_path / "b_bad.mod")
    with pytest.raises(nx.NmodlError) as info:
        nx.load_mods([str(tmp_path)])
    assert str(info.value).startswith(f"{tmp_path / 'b_bad.mod'}:17: WHILE loops")


#: Files that NEURON's nocmodl refuses too (the rest it translates: neurax is stricter there).
NEURON_REFUSES = ("kinetic_derivimplicit.mod", "method_unknown.mod", "syntax_error.mod", "unclosed_block.mod",
                  "unclosed_comment.mod", "include_missing.mod", "ion_variable_wrong_ion.mod",
                  "net_send_in_breakpoint.mod", "partial_block.mod", "assign_special.mod", "iferror.mod",
                  "unexpected_character.mod", "unknown_block.mod", "unknown_neuron_statement.mod",
                  "solve_missing_block.mod", "binary_file.mod", "table_two_arguments.mod",
                  "duplicate_function.mod", "second_order.mod")  # these two crash nocmodl (an assertion fails)


@needs_nocmodl
@pytest.mark.neuron
@pytest.mark.parametrize("name", sorted(p.name for p in UNSUPPORTED.glob("*.mod")))
def test_what_neuron_says(name, tmp_path):
    rc, output = nocmodl(UNSUPPORTED / name, tmp_path)
    assert (rc != 0) == (name in NEURON_REFUSES), output
