COMMENT
CaHVA: high-voltage-activated calcium current (L-type-like)

    ica = gbar * m^2 * h * (v - eca)

Equations
    Reuveni I, Friedman A, Amitai Y, Gutnick MJ (1993) Stepwise
    repolarization from Ca2+ plateaus in neocortical pyramidal cells:
    evidence for nonhomogeneous distribution of HVA Ca2+ channels in
    dendrites. Journal of Neuroscience 13:4609-4621.
    Rate functions as used by Hay E et al. (2011) PLoS Computational
    Biology 7:e1002107 (rates in 1/ms, v in mV):

    am = 0.055 (-27 - v)/(exp((-27 - v)/3.8) - 1)
    bm = 0.94 exp((-75 - v)/17)
    ah = 4.57e-4 exp((-13 - v)/50)
    bh = 6.5e-3/(exp((-15 - v)/28) + 1)
    xinf = ax/(ax + bx),  xtau = 1/(ax + bx)
    (the 0/0 point of am at v = -27 mV is handled by the function xoverexp)

Temperature correction
    none: the fitted rates are used unchanged, as in Hay et al. 2011;
    celsius is not read.

Parameters (units)
    gbar  (S/cm2)  peak conductance, default 0.001 (library default; fitted
                   values differ between cells and compartments)

The reversal potential eca is read from the ca ion (Nernst from cai/cao
when a pool such as CaPool writes cai).

Written for neurax from the published equations (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX CaHVA
    USEION ca READ eca WRITE ica
    RANGE gbar, g, ica
    RANGE minf, hinf, mtau, htau
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S)  = (siemens)
}

PARAMETER {
    gbar = 0.001 (S/cm2)
}

ASSIGNED {
    v    (mV)
    eca  (mV)
    ica  (mA/cm2)
    g    (S/cm2)
    minf (1)
    hinf (1)
    mtau (ms)
    htau (ms)
}

STATE {
    m
    h
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar * m * m * h
    ica = g * (v - eca)
}

INITIAL {
    hvarates(v)
    m = minf
    h = hinf
}

DERIVATIVE states {
    hvarates(v)
    m' = (minf - m) / mtau
    h' = (hinf - h) / htau
}

UNITSOFF
PROCEDURE hvarates(vm (mV)) {
    LOCAL am, bm, ah, bh
    am = 0.055 * xoverexp(-27 - vm, 3.8)
    bm = 0.94 * exp((-75 - vm) / 17)
    ah = 4.57e-4 * exp((-13 - vm) / 50)
    bh = 6.5e-3 / (exp((-15 - vm) / 28) + 1)
    minf = am / (am + bm)
    mtau = 1 / (am + bm)
    hinf = ah / (ah + bh)
    htau = 1 / (ah + bh)
}

FUNCTION xoverexp(x, y) {
    : x / (exp(x/y) - 1) with its limit y at x = 0
    if (fabs(x / y) < 1e-6) {
        xoverexp = y * (1 - x / y / 2)
    } else {
        xoverexp = x / (exp(x / y) - 1)
    }
}
UNITSON
