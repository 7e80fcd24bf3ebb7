COMMENT
Refused by neurax: a WHILE loop.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX while_loop
    RANGE n
}

ASSIGNED {
    n
}

INITIAL {
    n = 0
    WHILE (n < 3) {
        n = n + 1
    }
}
