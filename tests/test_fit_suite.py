"""The fitting benchmark suite's NEURON targets (tests/reference_neuron/fit_suite): complete, consistent, small."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.reference_neuron.fit_suite_refs import SUITE_DIR, build_cell, load_problem, problem_files, problem_names

REPO = Path(__file__).resolve().parents[1]
GENERATOR = REPO / "tests" / "reference_neuron" / "generate_fit_suite.py"
LISTS = {"all", "somatic", "axonal", "basal", "apical"}


def at(model: dict, path: list):
    value = model
    for key in path:
        value = value[key]
    return value


def test_the_suite_has_twelve_problems_on_eight_real_cells_within_five_megabytes():
    metas = [load_problem(name).meta for name in problem_names()]
    assert len(metas) >= 12
    assert len({m["model"]["morphology"] for m in metas}) == 8  # every real reconstruction that can be simulated
    assert sum(p.stat().st_size for p in problem_files()) < 5e6
    assert sum(m["model"]["mods"] != [] for m in metas) >= 3
    assert sum(m["noise"] is not None for m in metas) >= 4
    assert sum(any(e["field"] is not None for e in m["fit"]) for m in metas) >= 2


@pytest.mark.parametrize("name", problem_names())
def test_problem_meta_describes_the_model_completely(name):
    t, v, meta, v_clean = load_problem(name)
    model = meta["model"]
    morphology = REPO / model["morphology"]
    assert hashlib.sha256(morphology.read_bytes()).hexdigest() == model["morphology_sha256"]
    assert sum(model["nseg"].values()) == model["ncompartments"]
    assert 6 <= len(meta["fit"]) <= 20
    for entry in meta["fit"]:
        lo, hi = entry["bounds"]
        assert at(model, entry["path"]) == entry["true"], entry["key"]
        middle = np.sqrt(lo * hi) if entry["scale"] == "log" else (lo + hi) / 2
        assert lo < entry["true"] < hi and entry["true"] != pytest.approx(middle, rel=1e-3), entry["key"]
    for entry in model["mechanisms"] + model["ions"] + model["section_params"]:
        regions = [entry["on"]] if isinstance(entry["on"], str) else entry["on"]
        assert set(regions) <= LISTS
    assert len(meta["protocols"]) >= 2
    assert v.shape == v_clean.shape == (len(meta["protocols"]), len(meta["record"]), t.size)
    assert np.all(np.isfinite(v))
    assert t[1] - t[0] == pytest.approx(meta["sampling"]["sample_dt"])
    if meta["noise"] is None:
        assert v is v_clean
    else:
        residual = v - v_clean
        assert np.std(residual) == pytest.approx(meta["noise"]["sigma"], rel=0.02)
        rng = np.random.default_rng(meta["noise"]["seed"])
        np.testing.assert_array_equal(v, v_clean + rng.normal(0.0, meta["noise"]["sigma"], size=v.shape))


@pytest.mark.neuron
def test_regenerated_problem_equals_stored():
    """NEURON gives the stored small Pvalb problem again, bit for bit (the generator's --check)."""
    pytest.importorskip("neuron")
    assert (SUITE_DIR / "pvalb_hh_el.npz").exists()
    proc = subprocess.run([sys.executable, str(GENERATOR), "--check", "--only", "pvalb_hh_el", "--jobs", "1"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


SLOW_REBUILDS = {"c91662_ih_linear", "c91662_hh_soma_axon", "scnn1a_ca_sk", "pyramidal_hh_gk_gradient",
                 "bio_neuron_hh_axon_arbor", "a111200_two_trees_passive", "n120_hh_gl_exp", "n120_passive_linear",
                 "allen485574832_hh_regions", "allen485574832_nap_kv1"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_REBUILDS else n
                                  for n in problem_names()])
def test_neurax_rebuilds_the_problem_from_its_meta(name):
    """The meta is complete: neurax, told only what it holds, gives NEURON's noise-free traces (1e-6 mV)."""
    import neurax as nx

    t, v, meta, v_clean = load_problem(name)
    model = meta["model"]
    cell = build_cell(meta)
    for k, protocol in enumerate(meta["protocols"]):
        stims = [nx.IClamp(f"{s['section']}({s['x']})", s["delay"], s["dur"], s["amp"]) for s in protocol["iclamp"]]
        sol = nx.simulate(cell, stims, meta["record"], tstop=model["tstop"], dt=model["dt"], v_init=model["v_init"],
                          celsius=model["celsius"], rates=model["rates"])
        got = np.asarray(sol.v)[:, :: meta["sampling"]["sample_every"]]
        assert np.abs(got - v_clean[k]).max() < 1e-6, protocol["name"]


@pytest.mark.slow
def test_the_recipe_recovers_the_pvalb_problem_from_half_off():
    """The benchmark's own run on its smallest problem, with the public API and the default budget: every one of
    the 11 parameters (hh per region, el per region, Ra, cm) within 1% of NEURON's values from a start 50% off."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import bench_fit_suite

    row = bench_fit_suite.run_problem("pvalb_hh_el", bench_fit_suite.parse_args([]))
    assert row["success"] and row["worst_relative_error"] < 1e-6, row["fitted"]
    assert row["rms_vs_clean_mV"] < 1e-6 and max(row["std_at_truth"].values()) < 0.1


@pytest.mark.parametrize("name", problem_names())
def test_the_runners_fit_keys_at_their_true_values_give_the_model_exactly(name):
    """Where fit keys overlap other entries of the model (hh.gl on "all", then a fixed 3e-4 on the axon), the
    benchmark's keys hold only where their own entry does, so the truth is within reach of the fit."""
    import jax

    sys.path.insert(0, str(REPO / "benchmarks"))
    import bench_fit_suite

    _, _, meta, _ = load_problem(name)
    cell = build_cell(meta["model"])
    truth = {e["key"]: e["true"] for e in meta["fit"]}
    tr, fitted_of = bench_fit_suite.trainable_for(cell, meta, truth)
    placed = tr.apply(tr.init())
    for (path, want), got in zip(jax.tree_util.tree_leaves_with_path(cell.params),
                                 jax.tree_util.tree_leaves(placed.params), strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-12, err_msg=jax.tree_util.keystr(path))
    np.testing.assert_allclose([fitted_of(tr.init())[k] for k in truth], list(truth.values()), rtol=1e-12)
