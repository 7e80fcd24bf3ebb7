COMMENT
Refused by neurax: a character that starts no NMODL token.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX unexpected_character
    RANGE x
}

ASSIGNED {
    x
}

INITIAL {
    x = 2 $ 3
}
