COMMENT
Refused by neurax: a NEURON block statement that does not exist.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX unknown_neuron_statement
    EXPORT x
}
