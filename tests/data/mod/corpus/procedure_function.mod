TITLE procedure_function: FUNCTIONs and PROCEDUREs calling each other

COMMENT
Exercises: PROCEDURE and FUNCTION with arguments that have units, a FUNCTION return unit, LOCAL
variables, nested calls (a FUNCTION called inside a FUNCTION's argument), a PROCEDURE calling a
FUNCTION, a FUNCTION without arguments.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX procedure_function
    NONSPECIFIC_CURRENT i
    RANGE g, e, ginf
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    g = 0.001 (S/cm2)
    e = -60 (mV)
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
    ginf (1)
}

BREAKPOINT {
    settle(v, 2)
    i = g*ginf*(v - e)
}

PROCEDURE settle(vm (mV), power (1)) {
    LOCAL base
    base = boltzmann(vm, halfway(), 7)
    ginf = base^power
}

FUNCTION boltzmann(vm (mV), vh (mV), k (mV)) (1) {
    boltzmann = 1/(1 + exp(-(vm - vh)/k))
}

FUNCTION halfway() (mV) {
    halfway = shift(-40, 5)
}

FUNCTION shift(x (mV), dx (mV)) (mV) {
    shift = x + dx
}
