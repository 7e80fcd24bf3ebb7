TITLE own_current_pool: a calcium current integrated into the mechanism's own concentration

COMMENT
The mechanism WRITEs ica, and its DERIVATIVE block integrates that same ica into a concentration of its
own (the STATE cain, not the ion's cai), as some published calcium channels do. NEURON's state pass reads
the mechanism's own ica, from the current pass of the step, not the ion's total.

It also declares a GLOBAL PARAMETER named cao that the USEION statement does not list: that is the
mechanism's own constant (cao_own_current_pool in hoc), not the calcium ion's outside concentration, and the
reversal potential is computed from it.

Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX own_current_pool
    USEION ca WRITE ica
    RANGE gbar, eown
    GLOBAL cao, depth
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (mM) = (milli/liter)
    (S) = (siemens)
    (um) = (micron)
    FARADAY = (faraday) (coulomb)
    R = (k-mole) (joule/degC)
}

PARAMETER {
    gbar = 5e-4 (S/cm2)
    cao = 3 (mM)
    cain0 = 1e-4 (mM)
    taur = 20 (ms)
    depth = 0.1 (um)
}

ASSIGNED {
    v (mV)
    celsius (degC)
    ica (mA/cm2)
    eown (mV)
}

STATE {
    cain (mM)
    m
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    eown = (1000) * R * (celsius + 273.15) / (2 * FARADAY) * log(cao / cain)
    ica = gbar * m * m * (v - eown)
}

INITIAL {
    cain = cain0
    m = minf(v)
}

DERIVATIVE states {
    cain' = -(10000) * ica / (2 * FARADAY * depth) - (cain - cain0) / taur
    m' = (minf(v) - m) / mtau(v)
}

FUNCTION minf(v (mV)) {
    minf = 1 / (1 + exp(-(v + 20) / 6))
}

FUNCTION mtau(v (mV)) (ms) {
    mtau = 0.5 + 2 / (exp((v + 25) / 15) + exp(-(v + 25) / 15))
}
