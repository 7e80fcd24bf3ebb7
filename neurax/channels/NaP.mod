COMMENT
NaP: persistent (slowly inactivating) sodium current

    ina = gbar * m^3 * h * (v - ena)

Equations
    Magistretti J, Alonso A (1999) Biophysical properties and slow
    voltage-dependent inactivation of a sustained sodium current in entorhinal
    cortex layer-II principal neurons: a whole-cell and single-channel study.
    Journal of General Physiology 114:491-509.
    Activation time constants follow the fast Na kinetics of Colbert & Pan
    (2002, Nature Neuroscience 5:533-538) slowed six-fold, as in
    Hay E et al. (2011) PLoS Computational Biology 7:e1002107.

    activation     minf = 1/(1 + exp(-(v + 52.6)/4.6))
                   mtau = 6/((am + bm) * tadj)
                   am = 0.182 (v+38)/(1 - exp(-(v+38)/6))
                   bm = 0.124 (v+38)/(exp((v+38)/6) - 1)
    slow inactivation
                   hinf = 1/(1 + exp((v + 48.8)/10))
                   htau = 1/((ah + bh) * tadj)
                   ah = 2.88e-6 (v+17)/(exp((v+17)/4.63) - 1)
                   bh = 6.94e-6 (v+64.4)/(1 - exp(-(v+64.4)/2.63))
    (rates in 1/ms, v in mV; 0/0 points guarded in the function lin)

Temperature correction
    tadj = q10^((celsius - tref)/10), q10 = 2.3, tref = 21 degC

Parameters (units)
    gbar   (S/cm2)  peak conductance, default 0.001 (library default; the
                    persistent conductance is usually a small fraction of
                    the transient one)
    mslow  (1)      slowing factor of activation relative to NaT, 6
    q10    (1)      2.3
    tref   (degC)   21

Written for neurax from the published equations (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX NaP
    USEION na READ ena WRITE ina
    RANGE gbar, g, ina
    RANGE minf, hinf, mtau, htau
    GLOBAL mslow, q10, tref
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S)  = (siemens)
}

PARAMETER {
    gbar  = 0.001 (S/cm2)
    mslow = 6     (1)
    q10   = 2.3   (1)
    tref  = 21    (degC)
}

ASSIGNED {
    v       (mV)
    ena     (mV)
    celsius (degC)
    ina     (mA/cm2)
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
    g = gbar * m * m * m * h
    ina = g * (v - ena)
}

INITIAL {
    kinetics(v)
    m = minf
    h = hinf
}

DERIVATIVE states {
    kinetics(v)
    m' = (minf - m) / mtau
    h' = (hinf - h) / htau
}

UNITSOFF
PROCEDURE kinetics(u (mV)) {
    LOCAL tadj, am, bm, ah, bh
    tadj = q10 ^ ((celsius - tref) / 10)

    minf = 1 / (1 + exp(-(u + 52.6) / 4.6))
    am = 0.182 * lin(u + 38, 6)
    bm = 0.124 * lin(-(u + 38), 6)
    mtau = mslow / ((am + bm) * tadj)

    hinf = 1 / (1 + exp((u + 48.8) / 10))
    ah = 2.88e-6 * lin(-(u + 17), 4.63)
    bh = 6.94e-6 * lin(u + 64.4, 2.63)
    htau = 1 / ((ah + bh) * tadj)
}

FUNCTION lin(x, s) {
    : x / (1 - exp(-x/s)); equals s at x = 0
    if (fabs(x) < 1e-6 * s) {
        lin = s + x / 2
    } else {
        lin = x / (1 - exp(-x / s))
    }
}
UNITSON
