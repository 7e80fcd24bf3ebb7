COMMENT
Refused by neurax: a block whose closing brace is missing.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX unclosed_block
    RANGE x
}

ASSIGNED {
    x
}

INITIAL {
    x = 1
