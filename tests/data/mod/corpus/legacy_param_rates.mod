TITLE legacy_param_rates: PARAMETERs that the blocks assign

COMMENT
Exercises: forms of the Traub et al. 2005 and Migliore et al. 2006 files in ModelDB: RANGE PARAMETERs
(o_rate, c_rate) assigned by a rate PROCEDURE that BREAKPOINT calls before its SOLVE (so the state pass uses
the values of the current pass), and a GLOBAL PARAMETER (scale_) whose default is 0 and that INITIAL sets
before the states use it.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX legacy_param_rates
    USEION k READ ek WRITE ik
    RANGE gmax, o_rate, c_rate
    GLOBAL scale_
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
}

PARAMETER {
    gmax = 0.004 (mho/cm2)
    o_rate = 0 (1/ms)
    c_rate = 0 (1/ms)
    scale_ = 0
    v (mV)
}

ASSIGNED {
    ik (mA/cm2)
    ek (mV)
}

STATE { c }

INITIAL {
    scale_ = 0.5
    rates(v)
    c = c_rate / (c_rate + o_rate)
}

BREAKPOINT {
    rates(v)
    SOLVE state METHOD cnexp
    ik = gmax * (1 - c) * (v - ek)
}

DERIVATIVE state {
    c' = scale_ * (c_rate - (c_rate + o_rate) * c)
}

PROCEDURE rates(v (mV)) {
    o_rate = 0.2 / (1 + exp(-(v + 35) / 6))
    c_rate = 0.05 + 0.1 / (1 + exp((v + 50) / 10))
}
