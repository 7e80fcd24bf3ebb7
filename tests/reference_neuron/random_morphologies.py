"""Seeded random SWC and Neurolucida ASC morphologies, and their NEURON references.

neurax is checked on morphologies nobody has seen, so its NEURON references must exercise the general import
rules, not only the shared test files.  This script writes ``tests/data/random/swc_NNN.swc`` (24 files) and
``tests/data/random/asc_NNN.asc`` (12 files), each small (a few hundred points at most), imports every file
with NEURON through :func:`generate_morphology.process_file` (group ``random``), keeps only files that NEURON
imports without error (a failing candidate is dropped and regenerated with the next seed), and asserts that
together they contain every feature in :data:`SWC_FEATURES` and :data:`ASC_FEATURES`.  The features of each
file are detected from the generated structure and text and written to ``tests/data/random/MANIFEST.json``.

Usage::

    python tests/reference_neuron/random_morphologies.py [--jobs N] [--seed SEED]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate_morphology as gm  # noqa: E402

OUT = gm.RANDOM_DIR
N_SWC = 24
N_ASC = 12
MAX_ATTEMPTS = 25
DEFAULT_SEED = 20240611

SOMA_KINDS = ("none", "1pt", "3pt_sphere", "3pt_nonsphere", "chain", "branching")

#: Every feature here must appear in at least one kept SWC file.
SWC_FEATURES = (
    "soma_none",
    "soma_1pt",
    "soma_3pt_sphere",
    "soma_3pt_nonsphere",
    "soma_chain",
    "soma_branching",
    "attach_soma_root",
    "attach_soma_interior",
    "attach_soma_last",
    "type_2",
    "type_3",
    "type_4",
    "type_0",
    "type_custom",
    "type_change_unbranched",
    "tracing_interruption",
    "interleaved_trees",
    "duplicate_point",
    "zero_length_section",
    "zero_length_section_with_children",
    "one_point_branch",
    "multifurcation",
    "root_bifurcation_no_soma",
    "branch_on_first_neurite_point",
    "ids_0based",
    "ids_gapped",
    "extra_columns",
    "comments",
    "inline_comments",
    "blank_lines",
    "whitespace_lines",
    "tabs",
    "crlf",
    "many_digits",
    "sci_notation",
    "radius_zero",
)

#: Every feature here must appear in at least one kept ASC file.
ASC_FEATURES = (
    "soma_contour_convex",
    "soma_contour_nonconvex",
    "soma_contour_varying_z",
    "soma_contour_5pts",
    "soma_contour_many_pts",
    "two_somata",
    "soma_stack",
    "no_soma",
    "short_contour",
    "soma_name_cell_body",
    "soma_name_soma",
    "other_contour",
    "top_marker",
    "tree_inside_bbox",
    "tree_outside_bbox",
    "tree_dendrite",
    "tree_axon",
    "tree_apical",
    "tree_unlabeled",
    "tree_no_properties",
    "type_label_not_last",
    "split_2",
    "split_3",
    "split_4",
    "child_first_equal",
    "child_first_differs",
    "marker_at_end",
    "spines",
    "label_Normal",
    "label_Incomplete",
    "label_High",
    "label_Low",
    "label_Generated",
    "comments",
    "prop_color",
    "prop_name",
    "prop_resolution",
    "prop_imagecoords",
    "commas",
    "point_3_values",
    "point_extra_label",
)


def unit(rng: np.random.Generator) -> np.ndarray:
    """A random unit vector."""
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def turn(rng: np.random.Generator, direction: np.ndarray, amount: float = 0.35) -> np.ndarray:
    """``direction`` perturbed a little, renormalised."""
    v = direction + amount * rng.normal(size=3)
    return v / np.linalg.norm(v)


# ----------------------------------------------------------------------------------------------------------
# SWC
# ----------------------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Node:
    """One SWC sample before serialisation."""

    type: int
    xyz: np.ndarray
    r: float
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    tree: int = -1  # index of the neurite tree (-1: soma)

    def add(self, child: Node) -> Node:
        """Attach ``child`` and return it."""
        child.parent = self
        self.children.append(child)
        return child


class SwcBuilder:
    """Build one random SWC morphology with some forced features."""

    def __init__(self, rng: np.random.Generator, soma_kind: str, force: set[str]):
        self.rng = rng
        self.soma_kind = soma_kind
        self.force = force
        self.soma: list[Node] = []
        self.roots: list[Node] = []
        self.budget = int(rng.integers(60, 220))
        self.count = 0
        self.notes: set[str] = set()

    def want(self, feature: str, p: float) -> bool:
        """True when ``feature`` is forced, else with probability ``p``."""
        return feature in self.force or self.rng.random() < p

    # -- soma ---------------------------------------------------------------------------------------------
    def build_soma(self) -> list[tuple[Node, str]]:
        """Create the soma; return the attachment candidates as (node, kind)."""
        rng = self.rng
        c = rng.uniform(-40, 40, size=3)
        r = float(rng.uniform(3, 9))
        kind = self.soma_kind
        if kind == "none":
            return []
        root = Node(1, c, r)
        self.soma = [root]
        if kind == "1pt":
            return [(root, "root")]
        if kind == "3pt_sphere":
            u = np.array([0.0, 1.0, 0.0]) if rng.random() < 0.5 else unit(rng)
            scale = 1.0 + (rng.uniform(-0.004, 0.004) if rng.random() < 0.5 else 0.0)
            for sign in (1, -1):
                self.soma.append(root.add(Node(1, c + sign * r * scale * u, r)))
            return [(root, "root")]
        if kind == "3pt_nonsphere":
            variant = rng.choice(["diam", "length", "chain", "attach_side"])
            self.notes.add(f"3pt_{variant}")
            u = unit(rng)
            if variant == "chain":
                p1 = root.add(Node(1, c + r * u, r))
                p2 = p1.add(Node(1, c + 2 * r * u, r))
                self.soma += [p1, p2]
                return [(root, "root"), (p1, "interior"), (p2, "last")]
            f = 1.05 if variant == "length" else 1.0
            r1 = r * (1.3 if variant == "diam" else 1.0)
            p1 = root.add(Node(1, c + r * f * u, r1))
            p2 = root.add(Node(1, c - r * f * u, r))
            self.soma += [p1, p2]
            if variant == "attach_side":
                return [(p1, "last"), (p2, "last")]
            return [(root, "root"), (p1, "last"), (p2, "last")]
        direction = unit(rng)
        if kind == "chain":
            n = int(rng.integers(4, 11))
            prev = root
            for k in range(1, n):
                rad = float(r * (0.5 + 0.5 * math.sin(math.pi * k / n)) + 0.3)
                prev = prev.add(Node(1, c + k * rng.uniform(1.0, 2.5) * turn(rng, direction, 0.1), rad))
                self.soma.append(prev)
            cands = [(root, "root"), (self.soma[-1], "last")]
            cands += [(s, "interior") for s in self.soma[1:-1]]
            return cands
        # branching soma: root with two soma chains, or a chain that splits at an interior point
        cands = []
        if rng.random() < 0.5:
            self.notes.add("soma_split_at_root")
            for sign in (1, -1):
                prev = root
                for k in range(1, int(rng.integers(2, 5))):
                    prev = prev.add(Node(1, c + sign * k * 2.0 * turn(rng, direction, 0.1), r * 0.8))
                    self.soma.append(prev)
                    cands.append((prev, "interior"))
                cands[-1] = (prev, "last")
        else:
            self.notes.add("soma_split_interior")
            prev = root
            for k in range(1, 4):
                prev = prev.add(Node(1, c + k * 2.0 * direction, r))
                self.soma.append(prev)
                cands.append((prev, "interior"))
            fork = prev
            for sign in (1, -1):
                prev = fork
                other = turn(rng, np.cross(direction, unit(rng)), 0.1)
                for k in range(1, 3):
                    prev = prev.add(Node(1, fork.xyz + k * 2.0 * (direction + sign * other), r * 0.7))
                    self.soma.append(prev)
                    cands.append((prev, "interior"))
                cands[-1] = (prev, "last")
        return [(root, "root")] + cands

    # -- neurites -----------------------------------------------------------------------------------------
    def new_node(self, parent: Node, ntype: int, step: float, direction: np.ndarray, tree: int) -> Node:
        """A node one step from ``parent``."""
        self.count += 1
        r = max(0.15, parent.r * self.rng.uniform(0.85, 1.02)) if parent.type != 1 else self.rng.uniform(0.5, 2)
        return parent.add(Node(ntype, parent.xyz + step * direction, float(r), tree=tree))

    def grow(self, parent: Node, ntype: int, direction: np.ndarray, depth: int, tree: int) -> None:
        """Grow an unbranched piece from ``parent`` and maybe split at its end (recursively)."""
        rng = self.rng
        n = int(rng.integers(1, 8))
        if "duplicate_point" in self.force or "type_change_unbranched" in self.force:
            n = max(n, 4)
        node = parent
        for k in range(n):
            if self.count >= self.budget:
                break
            direction = turn(rng, direction)
            if 0 < k < n - 1 and (rng.random() < 0.08 or "duplicate_point" in self.force):
                self.force.discard("duplicate_point")
                # duplicate consecutive point: zero-length piece (same or different radius)
                self.count += 1
                dup = node.add(Node(ntype, node.xyz.copy(), node.r if rng.random() < 0.5 else node.r * 0.6, tree=tree))
                node = dup
                continue
            if k > 0 and (rng.random() < 0.06 or "type_change_unbranched" in self.force):
                self.force.discard("type_change_unbranched")
                ntype = self.other_type(ntype)
            node = self.new_node(node, ntype, float(rng.uniform(1, 8)), direction, tree)
        if depth >= 4 or self.count >= self.budget or node is parent:
            return
        p_split = 0.75 if depth < 2 else 0.4
        if rng.random() > p_split:
            return
        nchild = 2
        if self.want("multifurcation", 0.12):
            nchild = int(rng.integers(3, 5))
            self.force.discard("multifurcation")
        for j in range(nchild):
            cdir = turn(rng, direction, 0.9)
            u = rng.random()
            if u < 0.07 or (j == nchild - 1 and "zero_length_section" in self.force):
                # zero-length two-point section: a copy of the branch point (leaf or with children)
                self.force.discard("zero_length_section")
                self.count += 1
                copy = node.add(Node(ntype, node.xyz.copy(), node.r, tree=tree))
                if rng.random() < 0.5 or "zero_length_section_with_children" in self.force:
                    self.force.discard("zero_length_section_with_children")
                    for _ in range(2):
                        self.grow(copy, ntype, turn(rng, cdir, 0.9), depth + 2, tree)
            elif u < 0.17 or (j == 0 and "one_point_branch" in self.force):
                self.force.discard("one_point_branch")
                self.new_node(node, ntype, float(rng.uniform(1, 5)), cdir, tree)
            else:
                ctype = self.other_type(ntype) if rng.random() < 0.08 else ntype
                self.grow(node, ctype, cdir, depth + 1, tree)

    def other_type(self, ntype: int) -> int:
        """A different neurite type (for type changes)."""
        choices = [t for t in (2, 3, 4, 0, int(self.rng.integers(5, 20))) if t != ntype]
        return int(self.rng.choice(choices))

    def tree_types(self, ntrees: int) -> list[int]:
        """Types of the root neurites (forced ones first)."""
        pool = []
        for feat, t in (("type_2", 2), ("type_3", 3), ("type_4", 4), ("type_0", 0)):
            if feat in self.force:
                pool.append(t)
        if "type_custom" in self.force:
            pool.append(int(self.rng.integers(5, 20)))
        while len(pool) < ntrees:
            pool.append(int(self.rng.choice([2, 3, 3, 4, 0, int(self.rng.integers(5, 20))])))
        return pool[: max(ntrees, len(pool))]

    def build(self) -> None:
        """Create soma and trees."""
        rng = self.rng
        cands = self.build_soma()
        ntrees = int(rng.integers(1, 5))
        types = self.tree_types(ntrees)
        by_kind: dict[str, list[Node]] = {}
        for node, kind in cands:
            by_kind.setdefault(kind, []).append(node)
        forced_kinds = [k for k in ("root", "interior", "last") if f"attach_soma_{k}" in self.force and k in by_kind]
        for t, ntype in enumerate(types):
            if self.count >= self.budget and t > 0:
                break
            direction = unit(rng)
            if not cands:
                start = rng.uniform(-40, 40, size=3)
                self.count += 1
                root = Node(ntype, start, float(rng.uniform(0.5, 2)), tree=t)
                self.roots.append(root)
                if t == 0 and self.want("root_bifurcation_no_soma", 0.3):
                    for _ in range(2):
                        self.grow(root, ntype, turn(rng, direction, 1.0), 1, t)
                else:
                    self.grow(root, ntype, direction, 0, t)
                if not self.want("two_roots", 0.0):
                    # without a soma, further trees hang off the first tree's root (one SWC tree)
                    cands = [(root, "neurite_root")]
                continue
            if forced_kinds:
                kind = forced_kinds.pop(0)
                parent = by_kind[kind][int(rng.integers(len(by_kind[kind])))]
            else:
                parent = cands[int(rng.integers(len(cands)))][0]
            if parent.type == 1:
                first = self.new_node(parent, ntype, float(parent.r * rng.uniform(0.5, 1.2)), direction, t)
            else:
                first = self.new_node(parent, ntype, float(rng.uniform(1, 4)), direction, t)
            self.grow(first, ntype, direction, 0, t)
            if self.want("branch_on_first_neurite_point", 0.15) and parent.type == 1:
                self.force.discard("branch_on_first_neurite_point")
                # a second branch from the neurite's first point: in file order it follows the first
                # branch's whole subtree (NEURON's connect2prox case)
                self.grow(first, ntype, turn(rng, direction, 1.0), 2, t)

    # -- serialisation ------------------------------------------------------------------------------------
    def order(self) -> list[Node]:
        """File order: parents before children; DFS or a sticky random walk (tracing interruptions)."""
        rng = self.rng
        soma_first = self.soma_kind in ("3pt_sphere", "3pt_nonsphere") or rng.random() < 0.7
        wander = self.want("tracing_interruption", 0.35) or self.want("interleaved_trees", 0.2)
        tops = [self.soma[0]] if self.soma else list(self.roots)
        order: list[Node] = []
        if soma_first and self.soma:
            stack = [self.soma[0]]
            while stack:
                n = stack.pop()
                order.append(n)
                stack.extend(reversed([c for c in n.children if c.type == 1]))
            available = [c for s in self.soma for c in s.children if c.type != 1]
        else:
            available = list(tops)
        last = order[-1] if order else None
        while available:
            kids = [c for c in (last.children if last is not None else []) if c in available]
            if kids and (not wander or rng.random() < 0.8):
                nxt = kids[0]
            elif wander:
                nxt = available[int(rng.integers(len(available)))]
            else:
                nxt = available[-1]
            available.remove(nxt)
            order.append(nxt)
            available.extend(nxt.children)
            last = nxt
        return order

    def text(self, order: list[Node]) -> tuple[str, set[str]]:
        """Serialise ``order`` with random formatting; return (text, formatting features)."""
        rng = self.rng
        feats: set[str] = set()
        start = 1
        if self.want("ids_0based", 0.15):
            start = 0
            feats.add("ids_0based")
        elif rng.random() < 0.1:
            start = int(rng.integers(2, 9))
        gapped = self.want("ids_gapped", 0.2)
        ids, next_id = {}, start
        for n in order:
            ids[n] = next_id
            next_id += 1 + (int(rng.integers(1, 4)) if gapped and rng.random() < 0.3 else 0)
        if gapped and any(ids[b] - ids[a] > 1 for a, b in zip(order, order[1:], strict=False)):
            feats.add("ids_gapped")
        many = self.want("many_digits", 0.3)
        sci = self.want("sci_notation", 0.1)
        tabs = self.want("tabs", 0.15)
        extra = self.want("extra_columns", 0.15)
        comments = self.want("comments", 0.5)
        inline = self.want("inline_comments", 0.15)
        blank = self.want("blank_lines", 0.2)
        wsline = self.want("whitespace_lines", 0.1)
        zero = self.want("radius_zero", 0.08)
        crlf = self.want("crlf", 0.15)

        def num(v: float) -> str:
            if sci and rng.random() < 0.1:
                feats.add("sci_notation")
                return f"{v:.6e}"
            if many:
                feats.add("many_digits")
                return repr(round(float(v), 10))
            return f"{v:.3f}"

        lines = []
        if comments:
            feats.add("comments")
            lines += ["# random morphology for neurax tests", "# id type x y z radius parent"]
        for k, n in enumerate(order):
            r = n.r
            if zero and n.type != 1 and (not n.children or rng.random() < 0.1):
                r = 0.0
                feats.add("radius_zero")
            pid = ids[n.parent] if n.parent is not None else -1
            sep = "\t" if tabs and rng.random() < 0.5 else (" " if rng.random() < 0.7 else "  ")
            if sep == "\t":
                feats.add("tabs")
            cols = [
                str(ids[n]),
                str(n.type),
                num(n.xyz[0]),
                num(n.xyz[1]),
                num(n.xyz[2]),
                "0" if r == 0 else num(r),
                str(pid),
            ]
            line = sep.join(cols)
            if extra and rng.random() < 0.6:
                feats.add("extra_columns")
                line += f" {rng.integers(0, 5)} {rng.uniform(0, 2):.2f}"
            if inline and rng.random() < 0.3:
                feats.add("inline_comments")
                line += "  # note"
            if rng.random() < 0.5 and k > 0:
                line = " " + line
            lines.append(line)
            if blank and rng.random() < 0.1:
                feats.add("blank_lines")
                lines.append("")
            if wsline and rng.random() < 0.1:
                feats.add("whitespace_lines")
                lines.append("   ")
            if comments and rng.random() < 0.03:
                lines.append("# a comment between samples")
        if blank and "blank_lines" not in feats:
            feats.add("blank_lines")
            lines.insert(len(lines) // 2, "")
        if wsline and "whitespace_lines" not in feats:
            feats.add("whitespace_lines")
            lines.insert(len(lines) // 2, " \t ")
        eol = "\r\n" if crlf else "\n"
        if crlf:
            feats.add("crlf")
        return eol.join(lines) + eol, feats


def structural_swc_features(builder: SwcBuilder, order: list[Node]) -> set[str]:
    """Features read off the generated samples and their file order."""
    feats = {f"soma_{builder.soma_kind}"}
    pos = {n: k for k, n in enumerate(order)}
    soma_set = set(builder.soma)
    for n in order:
        if n.type != 1:
            feats.add(f"type_{n.type}" if n.type in (0, 2, 3, 4) else "type_custom")
        p = n.parent
        if p is None:
            continue
        if p.type == 1 and n.type != 1:
            soma_kids = [c for c in p.children if c.type == 1]
            if p is builder.soma[0]:
                feats.add("attach_soma_root")
            elif soma_kids:
                feats.add("attach_soma_interior")
            elif len(builder.soma) > 1:
                feats.add("attach_soma_last")
        if p.type != 1 and n.type != 1 and p.type != n.type and len(p.children) == 1:
            feats.add("type_change_unbranched")
        if len(p.children) == 1 and pos[n] != pos[p] + 1:
            feats.add("tracing_interruption")
        if np.array_equal(n.xyz, p.xyz) and n.type != 1:
            if len(p.children) == 1 and len(n.children) == 1:
                feats.add("duplicate_point")
            if len(p.children) > 1 and not n.children:
                feats.add("zero_length_section")
            if len(p.children) > 1 and len(n.children) > 1:
                feats.add("zero_length_section_with_children")
        if len(p.children) > 1 and not n.children and not np.array_equal(n.xyz, p.xyz):
            feats.add("one_point_branch")
        if len(n.children) >= 3:
            feats.add("multifurcation")
        if p.type != 1 and p.parent is not None and p.parent.type == 1 and pos[n] != pos[p] + 1:
            feats.add("branch_on_first_neurite_point")
    if builder.soma_kind == "none" and builder.roots and len(builder.roots[0].children) > 1:
        feats.add("root_bifurcation_no_soma")
    trees = [n.tree for n in order if n not in soma_set and n.tree >= 0]
    runs = sum(1 for a, b in zip(trees, trees[1:], strict=False) if a != b)
    if runs > len(set(trees)) - 1:
        feats.add("interleaved_trees")
    return feats


def make_swc(rng: np.random.Generator, soma_kind: str, force: set[str]) -> tuple[str, set[str]]:
    """One random SWC text and its features."""
    builder = SwcBuilder(rng, soma_kind, set(force))
    builder.build()
    order = builder.order()
    text, fmt_feats = builder.text(order)
    return text, structural_swc_features(builder, order) | fmt_feats


# ----------------------------------------------------------------------------------------------------------
# Neurolucida ASC
# ----------------------------------------------------------------------------------------------------------


class AscBuilder:
    """Build one random Neurolucida ASC text with some forced features."""

    LABELS = ("Normal", "Incomplete", "High", "Low", "Generated")

    def __init__(self, rng: np.random.Generator, force: set[str]):
        self.rng = rng
        self.force = set(force)
        self.feats: set[str] = set()
        self.lines: list[str] = []
        self.count = 0
        self.budget = int(rng.integers(60, 220))
        self.commas = self.want("commas", 0.2)
        self.many = self.rng.random() < 0.3

    def want(self, feature: str, p: float) -> bool:
        """True when ``feature`` is forced, else with probability ``p``."""
        return feature in self.force or self.rng.random() < p

    def num(self, v: float) -> str:
        """Number text (sometimes with many digits)."""
        return repr(round(float(v), 9)) if self.many else f"{v:.2f}"

    def point(self, xyz, d: float, in_tree: bool = True) -> str:
        """One point tuple, in one of the accepted spellings.

        Three-value points (diameter 0) are common in soma contours (where NEURON ignores the diameter) and
        put in a tree only where forced, since a zero diameter makes NEURON's ``lambda_f`` fail.
        """
        rng = self.rng
        vals = [self.num(v) for v in xyz]
        if (not in_tree and rng.random() < 0.15) or (in_tree and "point_3_values" in self.force):
            self.force.discard("point_3_values")
            self.feats.add("point_3_values")
        else:
            vals.append(self.num(d))
        sep = " "
        if self.commas and rng.random() < 0.5:
            sep = ", "
            self.feats.add("commas")
        text = "(" + sep.join(vals)
        if len(vals) == 4 and (rng.random() < 0.05 or "point_extra_label" in self.force):
            self.force.discard("point_extra_label")
            self.feats.add("point_extra_label")
            text += f" S{int(rng.integers(1, 9))}"
        text += ")"
        if rng.random() < 0.1:
            text += "  ; pt"
            self.feats.add("comments")
        return text

    # -- contours -----------------------------------------------------------------------------------------
    def polygon(self, center: np.ndarray, radius: float, n: int, convex: bool, zvar: bool) -> list[np.ndarray]:
        """Points of a closed, star-shaped contour around ``center``."""
        rng = self.rng
        aspect = rng.uniform(0.5, 1.0)
        phi = rng.uniform(0, 2 * math.pi)
        start = rng.uniform(0, 2 * math.pi)
        sign = 1 if rng.random() < 0.5 else -1
        angles = np.sort(rng.uniform(0, 2 * math.pi, size=n)) if n > 8 else np.arange(n) * 2 * math.pi / n
        pts = []
        for a in angles:
            t = start + sign * a
            x, y = math.cos(t), aspect * math.sin(t)
            rr = radius
            if not convex:
                rr *= 1 + 0.25 * math.sin(3 * t + phi) + 0.08 * rng.normal()
            c, s = math.cos(phi), math.sin(phi)
            p = center + rr * np.array([c * x - s * y, s * x + c * y, 0.0])
            if zvar:
                p[2] += rng.uniform(-1.5, 1.5)
            pts.append(p)
        return pts

    def contour(self, name: str, pts, props: list[str]) -> None:
        """Write one contour block."""
        self.lines.append(f'("{name}"')
        for p in props:
            self.lines.append(f"  {p}")
        for p in pts:
            self.lines.append("  " + self.point(p, 0.0 if self.rng.random() < 0.5 else 1.5, in_tree=False))
        self.lines.append(")  ;  End of contour")
        self.lines.append("")

    def soma_name(self) -> str:
        """One of the names NEURON accepts for a soma contour."""
        r = self.rng.random()
        if "soma_name_cell_body" in self.force or r < 0.15:
            self.force.discard("soma_name_cell_body")
            self.feats.add("soma_name_cell_body")
            return "Cell Body"
        if "soma_name_soma" in self.force or r < 0.3:
            self.force.discard("soma_name_soma")
            self.feats.add("soma_name_soma")
            return "Soma"
        return "CellBody"

    def somata(self) -> list[tuple[np.ndarray, float, tuple]]:
        """Write the soma contour(s); return (centre, radius, xy bounding box) per soma."""
        rng = self.rng
        props = ["(Color Red)", "(CellBody)"]
        if "no_soma" in self.force or rng.random() < 0.08:
            self.feats.add("no_soma")
            return []
        kind = str(rng.choice(["one"] * 8 + ["two", "stack"]))
        if "two_somata" in self.force:
            kind = "two"
        elif "soma_stack" in self.force:
            kind = "stack"
        somata = []
        centers = [rng.uniform(-30, 30, size=3)]
        if kind == "two":
            centers.append(centers[0] + np.array([rng.uniform(60, 90), rng.uniform(-20, 20), 0.0]))
            self.feats.add("two_somata")
        for center in centers:
            radius = float(rng.uniform(4, 10))
            if kind == "stack":
                k = int(rng.integers(3, 6))
                dz = rng.uniform(0.8, 2.0) * (1 if rng.random() < 0.5 else -1)
                allpts = []
                for j in range(k):
                    rr = radius * (0.55 + 0.45 * math.sin(math.pi * (j + 0.5) / k))
                    c = center + np.array([rng.uniform(-0.8, 0.8), rng.uniform(-0.8, 0.8), j * dz])
                    pts = self.polygon(c, rr, int(rng.integers(8, 25)), True, False)
                    allpts += pts
                    self.contour(self.soma_name(), pts, props)
                self.feats.add("soma_stack")
                xy = np.array(allpts)[:, :2]
                bbox = (xy[:, 0].min(), xy[:, 0].max(), xy[:, 1].min(), xy[:, 1].max())
                somata.append((center, radius, bbox))
                continue
            n = int(rng.integers(5, 61))
            if "soma_contour_5pts" in self.force:
                n = 5
                self.force.discard("soma_contour_5pts")
            elif "soma_contour_many_pts" in self.force:
                n = int(rng.integers(40, 61))
                self.force.discard("soma_contour_many_pts")
            convex = not self.want("soma_contour_nonconvex", 0.4)
            self.force.discard("soma_contour_nonconvex")
            zvar = self.want("soma_contour_varying_z", 0.4)
            self.force.discard("soma_contour_varying_z")
            pts = self.polygon(center, radius, n, convex, zvar)
            self.feats.add("soma_contour_convex" if convex else "soma_contour_nonconvex")
            if zvar:
                self.feats.add("soma_contour_varying_z")
            if n == 5:
                self.feats.add("soma_contour_5pts")
            elif n >= 40:
                self.feats.add("soma_contour_many_pts")
            extra_props = list(props)
            if rng.random() < 0.3:
                extra_props.insert(1, '(Name "soma outline")')
                self.feats.add("prop_name")
            self.contour(self.soma_name(), pts, extra_props)
            xy = np.array(pts)[:, :2]
            bbox = (xy[:, 0].min() - 0.5, xy[:, 0].max() + 0.5, xy[:, 1].min() - 0.5, xy[:, 1].max() + 0.5)
            somata.append((center, radius, bbox))
        return somata

    # -- trees --------------------------------------------------------------------------------------------
    def branch(
        self,
        start: np.ndarray,
        d: float,
        direction: np.ndarray,
        depth: int,
        indent: int,
        first_equal_to: np.ndarray | None,
    ) -> None:
        """Write one branch (its points, end markers, then a split or an end label)."""
        rng = self.rng
        pad = "  " * indent
        pts = []
        if first_equal_to is not None:
            # a child repeating its parent's last point, or the given first point of a tree
            pts.append(first_equal_to.copy())
            if depth > 0:
                self.feats.add("child_first_equal")
        elif depth > 0:
            self.feats.add("child_first_differs")
        p = start
        n = int(rng.integers(2, 7))
        for _ in range(n):
            direction = turn(rng, direction)
            p = p + rng.uniform(1.5, 7) * direction
            pts.append(p)
        for q in pts:
            self.count += 1
            d = max(0.2, d * rng.uniform(0.9, 1.0))
            self.lines.append(pad + self.point(q, d))
            if rng.random() < 0.04 or "spines" in self.force:
                self.force.discard("spines")
                self.feats.add("spines")
                tip = q + rng.uniform(0.5, 1.5) * unit(rng)
                if rng.random() < 0.5:
                    self.lines.append(pad + "  <(" + " ".join(self.num(v) for v in tip) + " 0.3)>")
                else:
                    self.lines.append(pad + '  <(Class 4 "none") (Color MediumGray) (Generated 0)')
                    self.lines.append(pad + "  (" + " ".join(self.num(v) for v in tip) + " 0.3)>  ; Spine")
        end = pts[-1]
        if rng.random() < 0.2 or "marker_at_end" in self.force:
            self.force.discard("marker_at_end")
            self.feats.add("marker_at_end")
            name = rng.choice(["Cross", "Dot", "FilledCircle"])
            self.lines.append(pad + f"({name}  ; marker")
            self.lines.append(pad + "  (Color Orange)")
            self.lines.append(pad + '  (Name "Marker 3")')
            for _ in range(int(rng.integers(1, 3))):
                m = end + rng.uniform(-2, 2, size=3)
                self.lines.append(pad + "  (" + " ".join(self.num(v) for v in m) + " 0.5)")
            self.lines.append(pad + ")  ;  End of markers")
        nsplit = 0
        if depth < 3 and self.count < self.budget and rng.random() < (0.8 if depth < 2 else 0.4):
            nsplit = 2
            for k in (3, 4):
                if f"split_{k}" in self.force:
                    nsplit = k
                    self.force.discard(f"split_{k}")
            if nsplit == 2 and rng.random() < 0.2:
                nsplit = int(rng.integers(3, 5))
        if nsplit:
            self.feats.add(f"split_{nsplit}")
            self.lines.append(pad + "(")
            for j in range(nsplit):
                if j:
                    self.lines.append(pad + "|")
                equal = rng.random() < 0.5
                if j == 0 and "child_first_equal" in self.force:
                    equal = True
                    self.force.discard("child_first_equal")
                cdir = turn(rng, direction, 0.9)
                self.branch(end, d, cdir, depth + 1, indent + 1, end if equal else None)
            self.lines.append(pad + ")  ;  End of split")
            return
        label = None
        for lab in self.LABELS:
            if f"label_{lab}" in self.force:
                label = lab
                self.force.discard(f"label_{lab}")
                break
        if label is None and rng.random() < 0.6:
            label = str(rng.choice(self.LABELS))
        if label:
            self.feats.add(f"label_{label}")
            self.lines.append(pad + label)

    def tree(self, start: np.ndarray, label: str | None, direction: np.ndarray) -> None:
        """Write one tree starting at ``start``."""
        rng = self.rng
        self.lines.append("( ; tree")
        color = f"(Color {rng.choice(['Yellow', 'Blue', 'Green', 'Magenta'])})"
        if label is None:
            if "tree_no_properties" in self.force or rng.random() < 0.4:
                self.force.discard("tree_no_properties")
                self.feats.add("tree_no_properties")
            else:
                self.lines.append("  " + color)
            self.feats.add("tree_unlabeled")
        elif label == "LABEL_NOT_LAST":
            # NEURON's reader takes the type from the *last* property: this tree is type 0 in NEURON
            self.lines.append("  (Dendrite)")
            self.lines.append("  " + color)
            self.feats.add("type_label_not_last")
        else:
            if rng.random() < 0.7:
                self.lines.append("  " + color)
            self.lines.append(f"  ({label})")
            self.feats.add(f"tree_{label.lower()}")
        self.branch(start, float(rng.uniform(0.8, 3)), direction, 0, 1, start)
        self.lines.append(")  ;  End of tree")
        self.lines.append("")

    def build(self) -> str:
        """The whole ASC text."""
        rng = self.rng
        if self.want("comments", 0.6):
            self.feats.add("comments")
            self.lines += [";\tV3 text file written for MicroBrightField products.", "; random neurax test cell"]
        if self.want("prop_imagecoords", 0.3):
            self.feats.add("prop_imagecoords")
            self.lines.append(
                '(ImageCoords Filename "C:\\data\\stack.jpg" Merge 65535 65535 65535 0 Coords 0.1 0.1 0 0 0)'
            )
        if self.want("prop_resolution", 0.3):
            self.feats.add("prop_resolution")
            self.lines.append("(Resolution 0.5)")
        if self.want("prop_color", 0.2):
            self.feats.add("prop_color")
            self.lines.append("(Color Red)")
        if self.want("prop_name", 0.2):
            self.feats.add("prop_name")
            self.lines.append('(Name "random cell")')
        self.lines.append("")
        if self.want("other_contour", 0.2):
            self.feats.add("other_contour")
            pts = self.polygon(rng.uniform(-80, 80, size=3), 60.0, 7, True, False)
            self.contour("Pia", pts, ["(Closed)", "(Color Blue)", "(MBFObjectType 5)"])
        if self.want("short_contour", 0.15):
            self.feats.add("short_contour")
            c = rng.uniform(-50, 50, size=3)
            self.contour("CellBody", [c, c + np.array([1.0, 1.0, 0.0])], ["(Color Red)", "(CellBody)"])
        somata = self.somata()
        if self.want("top_marker", 0.2):
            self.feats.add("top_marker")
            m = rng.uniform(-30, 30, size=3)
            self.lines.append('(Dot (Color White) (Name "marker") (' + " ".join(self.num(v) for v in m) + " 0.5))")
            self.lines.append("")
        labels = [lab for lab in ("Dendrite", "Axon", "Apical") if f"tree_{lab.lower()}" in self.force]
        if "tree_unlabeled" in self.force or "tree_no_properties" in self.force:
            labels.append(None)
        if "type_label_not_last" in self.force:
            labels.append("LABEL_NOT_LAST")
        ntrees = max(len(labels), int(rng.integers(1, 5)))
        while len(labels) < ntrees:
            labels.append(rng.choice(["Dendrite", "Dendrite", "Axon", "Apical", None]))
        outside_forced = "tree_outside_bbox" in self.force
        inside_forced = "tree_inside_bbox" in self.force
        for k, label in enumerate(labels):
            direction = unit(rng)
            direction[2] *= 0.3
            direction /= np.linalg.norm(direction)
            if somata:
                center, radius, bbox = somata[k % len(somata)]
                inside = rng.random() < 0.75
                if outside_forced and k == 0:
                    inside = False
                if inside_forced and k == len(labels) - 1:
                    inside = True
                dist = radius * 0.3 if inside else radius * 2.5 + 8.0
                start = center + dist * direction
                x0, x1, y0, y1 = bbox
                is_in = x0 <= start[0] <= x1 and y0 <= start[1] <= y1
                self.feats.add("tree_inside_bbox" if is_in else "tree_outside_bbox")
            else:
                start = rng.uniform(-40, 40, size=3)
            self.tree(start, label, direction)
        return "\n".join(self.lines) + "\n"


def make_asc(rng: np.random.Generator, force: set[str]) -> tuple[str, set[str]]:
    """One random ASC text and its features."""
    builder = AscBuilder(rng, force)
    text = builder.build()
    return text, builder.feats


# ----------------------------------------------------------------------------------------------------------
# Driver
# ----------------------------------------------------------------------------------------------------------


def plan(features: tuple[str, ...], n_files: int, skip: tuple[str, ...] = ()) -> list[set[str]]:
    """Spread ``features`` over ``n_files`` forced-feature sets (round robin)."""
    sets: list[set[str]] = [set() for _ in range(n_files)]
    k = 0
    for feat in features:
        if feat in skip:
            continue
        sets[k % n_files].add(feat)
        k += 1
    return sets


#: Features that only some soma kinds can have (forced only there; the first file of each kind gets them all).
SWC_SOMA_DEPENDENT = {
    "attach_soma_root": ("1pt", "3pt_sphere", "3pt_nonsphere", "chain", "branching"),
    "attach_soma_interior": ("chain", "branching"),
    "attach_soma_last": ("chain", "branching"),
    "branch_on_first_neurite_point": ("1pt", "3pt_sphere", "3pt_nonsphere", "chain", "branching"),
    "root_bifurcation_no_soma": ("none",),
}


def swc_candidate(index: int, attempt: int, seed: int, force: set[str]) -> tuple[str, set[str], str]:
    """Text, features and soma kind of SWC file ``index`` at ``attempt``."""
    rng = np.random.default_rng([seed, 1, index, attempt])
    soma_kind = SOMA_KINDS[index % len(SOMA_KINDS)]
    force = set(force)
    for feat, kinds in SWC_SOMA_DEPENDENT.items():
        if soma_kind not in kinds:
            force.discard(feat)
        elif index < len(SOMA_KINDS) and feat != "branch_on_first_neurite_point":
            force.add(feat)
    text, feats = make_swc(rng, soma_kind, force)
    return text, feats, soma_kind


def asc_candidate(index: int, attempt: int, seed: int, force: set[str]) -> tuple[str, set[str]]:
    """Text and features of ASC file ``index`` at ``attempt``."""
    rng = np.random.default_rng([seed, 2, index, attempt])
    return make_asc(rng, force)


def produce(kind: str, index: int, seed: int, force: set[str]) -> dict:
    """Generate, import with NEURON and keep one file (retrying until NEURON imports it)."""
    OUT.mkdir(parents=True, exist_ok=True)
    rejected = []
    for attempt in range(MAX_ATTEMPTS):
        if kind == "swc":
            text, feats, soma_kind = swc_candidate(index, attempt, seed, force)
        else:
            (text, feats), soma_kind = asc_candidate(index, attempt, seed, force), None
        wanted = force
        if kind == "swc":
            wanted = {f for f in force if soma_kind in SWC_SOMA_DEPENDENT.get(f, SOMA_KINDS)}
            if index < len(SOMA_KINDS):
                wanted |= {
                    f
                    for f, kinds in SWC_SOMA_DEPENDENT.items()
                    if soma_kind in kinds and f != "branch_on_first_neurite_point"
                }
        missing = sorted(f for f in wanted if f not in feats)
        path = OUT / f"{kind}_{index:03d}.{kind}"
        path.write_bytes(text.encode())
        if missing and attempt < MAX_ATTEMPTS - 5:
            rejected.append({"attempt": attempt, "reason": f"forced features missing: {missing}"})
            continue
        job = {"group": "random", "path": str(path), "source": str(path.relative_to(gm.REPO)), "source_root": "repo"}
        res = gm.process_file(job)
        if res["status"] == "ok" and res["nsec"] > 0:
            return {
                "file": path.name,
                "seed": [seed, 1 if kind == "swc" else 2, index, attempt],
                "soma_kind": soma_kind,
                "features": sorted(feats),
                "forced": sorted(force),
                "nsec": res["nsec"],
                "rejected": rejected,
                "reference": Path(res["output"]).name,
            }
        rejected.append({"attempt": attempt, "reason": f"NEURON: {res['status']} {res['error']}"})
        Path(res["output"]).unlink(missing_ok=True)
    raise RuntimeError(f"{kind} {index}: no candidate imported by NEURON: {rejected}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    start = time.monotonic()
    for old in list(OUT.glob("swc_*.swc")) + list(OUT.glob("asc_*.asc")):
        old.unlink()
    for old in gm.OUT_DIR.glob("random__*.npz"):
        old.unlink()
    soma_feats = tuple(f"soma_{k}" for k in SOMA_KINDS)
    swc_plan = plan(SWC_FEATURES, N_SWC, skip=soma_feats)
    asc_plan = plan(ASC_FEATURES, N_ASC)
    # keep exclusive soma layouts apart in the ASC plan
    exclusive = ("two_somata", "soma_stack", "no_soma")
    for k, feats in enumerate(asc_plan):
        present = [f for f in exclusive if f in feats]
        for f in present[1:]:
            feats.discard(f)
            asc_plan[(k + 1 + exclusive.index(f)) % N_ASC].add(f)
    jobs = [("swc", i, swc_plan[i]) for i in range(N_SWC)] + [("asc", i, asc_plan[i]) for i in range(N_ASC)]
    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futs = [pool.submit(produce, kind, i, args.seed, force) for kind, i, force in jobs]
        for fut in futs:
            res = fut.result()
            results.append(res)
            print(
                f"{res['file']}: {res['nsec']} sections, {len(res['rejected'])} rejected, "
                f"{len(res['features'])} features",
                flush=True,
            )
    covered_swc = set().union(*(set(r["features"]) for r in results if r["file"].startswith("swc")))
    covered_asc = set().union(*(set(r["features"]) for r in results if r["file"].startswith("asc")))
    missing_swc = sorted(set(SWC_FEATURES) - covered_swc)
    missing_asc = sorted(set(ASC_FEATURES) - covered_asc)
    manifest = {
        "generator": "tests/reference_neuron/random_morphologies.py",
        "seed": args.seed,
        "note": "features are detected from the generated structure/text; references: "
        "tests/reference_neuron/morphology/random__<file>.npz",
        "files": sorted(results, key=lambda r: r["file"]),
    }
    (OUT / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")
    assert not missing_swc, f"SWC features not covered: {missing_swc}"
    assert not missing_asc, f"ASC features not covered: {missing_asc}"
    print(f"{len(results)} random morphologies in {time.monotonic() - start:.1f} s; all features covered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
