TITLE if_else_chain: conditional statements in every form

COMMENT
Exercises: if / else if / else chains, uppercase IF and ELSE, nested ifs, comparisons (< <= > >= ==
!=), && || and !, a condition on a PARAMETER.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX if_else_chain
    RANGE mode, level
}

PARAMETER {
    mode = 1
}

ASSIGNED {
    v (mV)
    level
}

BREAKPOINT {
    level = classify(v)
}

FUNCTION classify(x (mV)) {
    if (x < -80) {
        classify = 0
    } else if (x <= -50 && mode == 1) {
        classify = 1
    } else if (x > 0 || !(mode != 2)) {
        classify = 3
    } else {
        classify = 2
    }
    IF (x >= 100) {
        classify = classify + 10
    } ELSE {
        if (x == 42) {
            classify = -1
        }
    }
}
