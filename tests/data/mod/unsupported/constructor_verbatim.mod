COMMENT
Refused by neurax: a CONSTRUCTOR with C code.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    ARTIFICIAL_CELL constructor_verbatim
}

CONSTRUCTOR {
VERBATIM
    void* data = hoc_Emalloc(8);
ENDVERBATIM
}
