TITLE represents_brackets: an ontology term written in square brackets

COMMENT
Exercises: REPRESENTS [NCIT:C17145], the bracketed form of an ontology term that NEURON's lexer
accepts beside the bare CURIE.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX represents_brackets
    REPRESENTS [NCIT:C17145]
    NONSPECIFIC_CURRENT i
    RANGE g
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    g = 1e-4 (S/cm2)
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
}

BREAKPOINT {
    i = g*(v + 60)
}
