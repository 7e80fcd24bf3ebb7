TITLE define_macro: a named integer from DEFINE

COMMENT
Exercises: DEFINE, an ASSIGNED array sized by the DEFINE'd name, a FROM loop bounded by it and its
use in an expression.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

DEFINE NPOOL 4

NEURON {
    SUFFIX define_macro
    RANGE mean
}

ASSIGNED {
    pool[NPOOL]
    mean
}

INITIAL {
    LOCAL k
    mean = 0
    FROM k = 0 TO NPOOL - 1 {
        pool[k] = 2*k
        mean = mean + pool[k]/NPOOL
    }
}
