COMMENT
Refused by neurax: BBCOREPOINTER, an opaque pointer for CoreNEURON.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    POINT_PROCESS bbcorepointer
    BBCOREPOINTER rng
}

ASSIGNED {
    rng
}
