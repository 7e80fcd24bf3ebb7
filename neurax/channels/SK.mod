COMMENT
SK: small-conductance calcium-activated potassium current (SK2)

    ik = gbar * z * (v - ek)

Voltage-independent; gating depends on the free intracellular calcium
concentration cai (written by a pool mechanism such as CaPool).

Equations
    Koehler M, Hirschberg B, Bond CT, Kinzie JM, Marrion NV, Maylie J,
    Adelman JP (1996) Small-conductance, calcium-activated potassium
    channels from mammalian brain. Science 273:1709-1714.
    Steady-state Hill fit (as used by Hay E et al. 2011, PLoS Computational
    Biology 7:e1002107):

    zinf = 1/(1 + (kd/cai)^nh),   kd = 0.43 uM = 4.3e-4 mM, nh = 4.8
    ztau = 1 ms (gating assumed fast and calcium-limited)
    zinf is set to 0 when cai is not positive.

Temperature correction
    none (the time constant is a fixed, phenomenological value).

Parameters (units)
    gbar  (S/cm2)  peak conductance, default 0.04 (of the order of the
                   somatic Hay et al. 2011 fits, which pair it with a pool
                   of gamma ~5e-4, as CaPool's default)
    kd    (mM)     half-activation calcium concentration, 4.3e-4
    nh    (1)      Hill coefficient, 4.8
    ztau  (ms)     gating time constant, 1

Written for neurax from the published equations (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX SK
    USEION k READ ek WRITE ik
    USEION ca READ cai
    RANGE gbar, g, ik, zinf
    GLOBAL kd, nh, ztau
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S)  = (siemens)
    (mM) = (milli/liter)
}

PARAMETER {
    gbar = 0.04   (S/cm2)
    kd   = 4.3e-4 (mM)
    nh   = 4.8    (1)
    ztau = 1      (ms)
}

ASSIGNED {
    v    (mV)
    ek   (mV)
    cai  (mM)
    ik   (mA/cm2)
    g    (S/cm2)
    zinf (1)
}

STATE {
    z
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar * z
    ik = g * (v - ek)
}

INITIAL {
    zinf = occupancy(cai)
    z = zinf
}

DERIVATIVE states {
    zinf = occupancy(cai)
    z' = (zinf - z) / ztau
}

FUNCTION occupancy(ca (mM)) (1) {
    if (ca > 0) {
        occupancy = 1 / (1 + (kd / ca) ^ nh)
    } else {
        occupancy = 0
    }
}
