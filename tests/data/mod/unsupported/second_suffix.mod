COMMENT
Refused by neurax: a NEURON block naming two mechanisms.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX second_suffix
    SUFFIX another_suffix
}
