COMMENT
Refused by neurax: an ion concentration declared as a STATE but only READ.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX state_not_written_ion
    USEION ca READ cai
}

STATE {
    cai (mM)
}
