COMMENT
Refused by neurax: INCLUDE of a file that does not exist.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX include_missing
}

INCLUDE "no_such_file.inc"
