COMMENT
Refused by neurax: VERBATIM with C code in a PROCEDURE, which neurax cannot run.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX verbatim_c
    RANGE x
}

ASSIGNED {
    x
}

INITIAL {
    setx()
}

PROCEDURE setx() {
VERBATIM
    x = 2.0 * 3.0;
ENDVERBATIM
}
