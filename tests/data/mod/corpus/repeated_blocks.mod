TITLE repeated_blocks: two INITIAL and two BREAKPOINT blocks, run one after the other

COMMENT
nocmodl accepts an INITIAL or a BREAKPOINT block more than once and runs their statements in the order of
the file, as one block. Published synapses use it through an INCLUDE'd file whose BREAKPOINT computes a
current that a second BREAKPOINT below the INCLUDE scales (a magnesium block).
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX repeated_blocks
    NONSPECIFIC_CURRENT i
    RANGE g, e, scale
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    g = 1e-4 (S/cm2)
    e = -60 (mV)
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
    scale
}

STATE {
    s
}

INITIAL {
    s = 0.5
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    i = g * s * (v - e)
}

DERIVATIVE states {
    s' = (0.2 - s) / 10
}

INITIAL {
    scale = 2 * s
}

BREAKPOINT {
    i = i * scale
}
