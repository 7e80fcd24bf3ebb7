TITLE no_suffix: a NEURON block without SUFFIX

COMMENT
A NEURON block without SUFFIX, POINT_PROCESS or ARTIFICIAL_CELL: nocmodl names the density mechanism
after the file (no_suffix), and so does neurax.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    RANGE x
}

ASSIGNED {
    x
}
