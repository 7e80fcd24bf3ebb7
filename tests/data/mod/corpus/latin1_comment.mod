TITLE latin1_comment: Latin-1 bytes inside a COMMENT

COMMENT
Exercises: a COMMENT holding Latin-1 (ISO 8859-1) bytes, which are not valid UTF-8:
temperature in °C, André Müller's «rate», µm and © signs.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX latin1_comment
    RANGE tau
}

PARAMETER {
    tau = 7 (ms)
}

STATE {
    x
}

INITIAL {
    x = 1
}

BREAKPOINT {
    SOLVE decay METHOD cnexp
}

DERIVATIVE decay {
    x' = -x/tau
}
