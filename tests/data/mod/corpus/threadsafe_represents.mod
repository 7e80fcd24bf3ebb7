TITLE threadsafe_represents: NEURON block annotations with no numerical effect

COMMENT
Exercises: THREADSAFE, REPRESENTS with an ontology term (in the NEURON block and after USEION), a
potassium current that reads ek.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX threadsafe_represents
    REPRESENTS NCIT:C17008
    USEION k READ ek WRITE ik REPRESENTS CHEBI:29103
    RANGE gk
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gk = 0.002 (S/cm2)
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
}

BREAKPOINT {
    ik = gk*(v - ek)
}
