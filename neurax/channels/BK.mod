COMMENT
BK: large-conductance calcium- and voltage-activated potassium current

    ik = gbar * o * (v - ek)

Equations
    Moczydlowski E, Latorre R (1983) Gating kinetics of Ca2+-activated K+
    channels from rat muscle incorporated into planar lipid bilayers:
    evidence for two voltage-dependent Ca2+ binding reactions. Journal of
    General Physiology 82:511-542.
    Two-state reduction with sequential voltage-dependent calcium binding:

    opening  a(v, ca) = abar/(1 + K1(v)/ca)
    closing  b(v, ca) = bbar/(1 + ca/K2(v))
    Ki(v) = ki exp(-2 di F v/(R T)),   T = celsius + 273.15 K
    o' = a (1 - o) - b o        (solved with derivimplicit)

    abar = 0.48 /ms, bbar = 0.28 /ms, k1 = 0.18 mM, k2 = 0.011 mM,
    d1 = 0.84, d2 = 1.0 (fractions of the membrane field sensed by the two
    binding sites).

Temperature correction
    only through T in the Boltzmann factor (no Q10 on the rates).

Parameters (units)
    gbar  (S/cm2)  peak conductance, default 0.01
    abar  (/ms)    maximal opening rate, 0.48
    bbar  (/ms)    maximal closing rate, 0.28
    k1    (mM)     dissociation constant of the first site at 0 mV, 0.18
    k2    (mM)     dissociation constant of the second site at 0 mV, 0.011
    d1    (1)      electrical distance of the first site, 0.84
    d2    (1)      electrical distance of the second site, 1.0

Written for neurax from the published equations (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX BK
    USEION k READ ek WRITE ik
    USEION ca READ cai
    RANGE gbar, g, ik, oinf, otau
    GLOBAL abar, bbar, k1, k2, d1, d2
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S)  = (siemens)
    (mM) = (milli/liter)
    F = (faraday) (kilocoulombs)
    R = (k-mole) (joule/degC)
}

PARAMETER {
    gbar = 0.01  (S/cm2)
    abar = 0.48  (/ms)
    bbar = 0.28  (/ms)
    k1   = 0.18  (mM)
    k2   = 0.011 (mM)
    d1   = 0.84  (1)
    d2   = 1.0   (1)
}

ASSIGNED {
    v       (mV)
    ek      (mV)
    cai     (mM)
    celsius (degC)
    ik      (mA/cm2)
    g       (S/cm2)
    oinf    (1)
    otau    (ms)
}

STATE {
    o
}

BREAKPOINT {
    SOLVE gate METHOD derivimplicit
    g = gbar * o
    ik = g * (v - ek)
}

INITIAL {
    steadystate(v, cai)
    o = oinf
}

DERIVATIVE gate {
    o' = opening(v, cai) * (1 - o) - closing(v, cai) * o
}

PROCEDURE steadystate(vm (mV), ca (mM)) {
    LOCAL a, b
    a = opening(vm, ca)
    b = closing(vm, ca)
    otau = 1 / (a + b)
    oinf = a * otau
}

FUNCTION boltz(vm (mV), d (1)) (1) {
    boltz = exp(-2 * d * F * vm / (R * (celsius + 273.15 (degC))))
}

FUNCTION opening(vm (mV), ca (mM)) (/ms) {
    if (ca > 0) {
        opening = abar / (1 + k1 * boltz(vm, d1) / ca)
    } else {
        opening = 0
    }
}

FUNCTION closing(vm (mV), ca (mM)) (/ms) {
    closing = bbar / (1 + ca / (k2 * boltz(vm, d2)))
}
