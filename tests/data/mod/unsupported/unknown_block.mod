COMMENT
Refused by neurax: a top-level word that is not an NMODL block.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX unknown_block
}

SETTINGS {
    x = 1
}
