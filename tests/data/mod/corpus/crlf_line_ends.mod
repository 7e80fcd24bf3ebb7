TITLE crlf_line_ends: a file with DOS line ends

COMMENT
Exercises: CRLF line ends throughout (also inside COMMENT and after `:` comments), line numbers of a
CRLF file.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX crlf_line_ends
    NONSPECIFIC_CURRENT i   : a comment before CRLF
    RANGE g
}

PARAMETER {
    g = 3e-4 (S/cm2)
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
}

BREAKPOINT {
    i = g*(v + 70)
}
