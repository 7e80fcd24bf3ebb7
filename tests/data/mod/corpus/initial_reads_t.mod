TITLE initial_reads_t: INITIAL records the time of initialisation

COMMENT
Exercises: t read in INITIAL (0 at finitialize), as NEURON's own IntFire1 does with t0 = t.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX initial_reads_t
    RANGE tstart
}

ASSIGNED {
    tstart (ms)
}

INITIAL {
    tstart = t
}
