"""Linear algebra on the compartment tree: the Hines solve and its derivative rule."""

from neurax.solver.hines import TreeStructure, cable_solve, tree_solve

__all__ = ["TreeStructure", "cable_solve", "tree_solve"]
