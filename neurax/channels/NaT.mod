COMMENT
NaT: fast transient (inactivating) sodium current

    ina = gbar * m^3 * h * (v - ena)

Equations
    Colbert CM, Pan E (2002) Ion channel properties underlying axonal action
    potential initiation in pyramidal neurons. Nature Neuroscience 5:533-538.
    Used in this form by Hay E, Hill S, Schuermann F, Markram H, Segev I (2011)
    Models of neocortical layer 5b pyramidal cells capturing a wide range of
    dendritic and perisomatic active properties. PLoS Computational Biology
    7:e1002107.

    activation     am = 0.182 (v+38)/(1 - exp(-(v+38)/6))
                   bm = 0.124 (v+38)/(exp((v+38)/6) - 1)
    inactivation   ah = 0.015 (v+66)/(exp((v+66)/6) - 1)
                   bh = 0.015 (v+66)/(1 - exp(-(v+66)/6))
    xinf = ax/(ax+bx),  xtau = 1/((ax+bx) * tadj)
    (rates in 1/ms, v in mV; the removable 0/0 points at v = -38 and
    v = -66 mV are handled by the helper function expm1ratio)

Temperature correction
    tadj = q10^((celsius - tref)/10), q10 = 2.3, tref = 21 degC

Parameters (units)
    gbar  (S/cm2)  peak conductance, default 2.04 (about the somatic value
                   of the Hay et al. 2011 layer 5 pyramidal cell fits)
    q10   (1)      temperature coefficient of the rates, 2.3
    tref  (degC)   temperature of the source measurements, 21

The rate tables depend on celsius (TABLE ... DEPEND celsius).

Written for neurax from the published equations (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX NaT
    USEION na READ ena WRITE ina
    RANGE gbar, g, ina
    GLOBAL minf, hinf, mtau, htau, q10, tref
    THREADSAFE : the GLOBAL rate variables become per-thread copies
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S)  = (siemens)
}

PARAMETER {
    gbar = 2.04 (S/cm2)
    q10  = 2.3  (1)
    tref = 21   (degC)
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
    settle(v)
    m = minf
    h = hinf
}

DERIVATIVE states {
    settle(v)
    m' = (minf - m) / mtau
    h' = (hinf - h) / htau
}

UNITSOFF
PROCEDURE settle(vm (mV)) {
    LOCAL am, bm, ah, bh, tadj
    TABLE minf, hinf, mtau, htau DEPEND celsius, q10, tref FROM -100 TO 100 WITH 200

    tadj = q10 ^ ((celsius - tref) / 10)
    am = 0.182 * expm1ratio(-(vm + 38), 6)
    bm = 0.124 * expm1ratio(vm + 38, 6)
    ah = 0.015 * expm1ratio(vm + 66, 6)
    bh = 0.015 * expm1ratio(-(vm + 66), 6)
    minf = am / (am + bm)
    mtau = 1 / ((am + bm) * tadj)
    hinf = ah / (ah + bh)
    htau = 1 / ((ah + bh) * tadj)
}

FUNCTION expm1ratio(x, y) {
    : x / (exp(x/y) - 1), replaced near x = 0 by its Taylor expansion
    if (fabs(x / y) < 1e-6) {
        expm1ratio = y * (1 - x / (2 * y))
    } else {
        expm1ratio = x / (exp(x / y) - 1)
    }
}
UNITSON
