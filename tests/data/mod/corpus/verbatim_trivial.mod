TITLE verbatim_trivial: VERBATIM blocks that hold no C code of consequence

COMMENT
Exercises: an empty VERBATIM block at the top level, a VERBATIM block with only a C comment, and
`return 0;` as the last thing in a FUNCTION and in a PROCEDURE.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

VERBATIM
ENDVERBATIM

NEURON {
    SUFFIX verbatim_trivial
    RANGE level
}

ASSIGNED {
    level
}

INITIAL {
    VERBATIM
    /* nothing to do here */
    ENDVERBATIM
    reset()
    level = half(3)
}

FUNCTION half(x) {
    half = x/2
    VERBATIM
    return 0;
    ENDVERBATIM
}

PROCEDURE reset() {
    level = 0
    VERBATIM
    return 0;
    ENDVERBATIM
}
