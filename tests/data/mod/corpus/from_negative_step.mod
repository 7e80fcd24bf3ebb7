TITLE from_negative_step: a FROM loop with a negative step

COMMENT
Exercises: FROM i = 3 TO 0 BY 0 - 1. nocmodl writes the loop as for (i = 3; i <= 0; i += -1), so its
body never runs and count stays 0 (a negative literal is not allowed after BY, hence 0 - 1).
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX from_negative_step
    RANGE count
}

ASSIGNED {
    count
}

INITIAL {
    LOCAL i
    count = 0
    FROM i = 3 TO 0 BY 0 - 1 {
        count = count + 1
    }
}
