COMMENT
KP: slowly inactivating ("persistent") potassium current

    ik = gbar * m^2 * h * (v - ek)

Equations
    Korngreen A, Sakmann B (2000) Voltage-gated K+ channels in layer 5
    neocortical pyramidal neurones from young rats: subtypes and gradients.
    Journal of Physiology 525:621-639 (the slow, "K_P" component).
    The curves are shifted by vshift = -10 mV (a junction-potential style
    correction) as in Hay E et al. (2011) PLoS Computational Biology
    7:e1002107. With u = v - vshift:

    minf = 1/(1 + exp(-(u + 1)/12))
    mtau = (1.25 + 175.03 exp(0.026 u))/tadj     for u < -50 mV
         = (1.25 + 13 exp(-0.026 u))/tadj         for u >= -50 mV
           (the two branches meet at u = -50 mV)
    hinf = 1/(1 + exp((u + 54)/11))
    htau = (360 + (1010 + 24 (u + 55)) exp(-((u + 75)/48)^2))/tadj
    (time constants in ms, voltages in mV)

Temperature correction
    tadj = q10^((celsius - tref)/10), q10 = 2.3, tref = 21 degC

Parameters (units)
    gbar    (S/cm2)  peak conductance, default 0.002 (library default; fitted
                     values differ between cells and compartments)
    vshift  (mV)     shift of all voltage dependences, -10
    q10     (1)      2.3
    tref    (degC)   21

Written for neurax from the published equations (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX KP
    USEION k READ ek WRITE ik
    RANGE gbar, g, ik
    RANGE minf, hinf, mtau, htau
    GLOBAL vshift, q10, tref
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S)  = (siemens)
}

PARAMETER {
    gbar   = 0.002 (S/cm2)
    vshift = -10   (mV)
    q10    = 2.3   (1)
    tref   = 21    (degC)
}

ASSIGNED {
    v       (mV)
    ek      (mV)
    celsius (degC)
    ik      (mA/cm2)
    g       (S/cm2)
    minf    (1)
    hinf    (1)
    mtau    (ms)
    htau    (ms)
}

STATE {
    m
    h
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar * m * m * h
    ik = g * (v - ek)
}

INITIAL {
    gating(v)
    m = minf
    h = hinf
}

DERIVATIVE states {
    gating(v)
    m' = (minf - m) / mtau
    h' = (hinf - h) / htau
}

UNITSOFF
PROCEDURE gating(vm (mV)) {
    LOCAL u, tadj
    u = vm - vshift
    tadj = q10 ^ ((celsius - tref) / 10)

    minf = 1 / (1 + exp(-(u + 1) / 12))
    if (u < -50) {
        mtau = (1.25 + 175.03 * exp(0.026 * u)) / tadj
    } else {
        mtau = (1.25 + 13 * exp(-0.026 * u)) / tadj
    }
    hinf = 1 / (1 + exp((u + 54) / 11))
    htau = (360 + (1010 + 24 * (u + 55)) * exp(-((u + 75) / 48)^2)) / tadj
}
UNITSON
