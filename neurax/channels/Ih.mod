COMMENT
Ih: hyperpolarisation-activated cation current (HCN channels)

    ihcn = gbar * o * (v - ehcn),   ehcn = -45 mV (mixed Na/K current)

The single gate is written as a two-state kinetic scheme

    C <-> O   (forward rate a(v), backward rate b(v)),   C + O = 1

Equations
    Kole MHP, Hallermann S, Stuart GJ (2006) Single Ih channels in pyramidal
    neuron dendrites: properties, distribution, and impact on action
    potential output. Journal of Neuroscience 26:1677-1687.

    a = ka (v - va)/(exp((v - va)/sa) - 1)   ka = 6.43e-3 /ms/mV,
                                              va = -154.9 mV, sa = 11.9 mV
    b = kb exp(v/sb)                          kb = 0.193 /ms, sb = 33.1 mV
    (the 0/0 point of a at v = va is handled by the function efrac)

Temperature correction
    none: the published fit is used without a temperature factor (as in
    Hay E et al. 2011, PLoS Computational Biology 7:e1002107); celsius is
    not read.

Parameters (units)
    gbar  (S/cm2)  peak conductance, default 1e-4 (somatic layer 5 density
                   order of magnitude; dendrites reach ~1e-2)
    ehcn  (mV)     reversal potential, -45
    ka    (/ms-mV) 6.43e-3
    va    (mV)     -154.9
    sa    (mV)     11.9
    kb    (/ms)    0.193
    sb    (mV)     33.1

Written for neurax from the published equations (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX Ih
    NONSPECIFIC_CURRENT ihcn
    RANGE gbar, g, ihcn, ehcn
    GLOBAL ka, va, sa, kb, sb
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S)  = (siemens)
}

PARAMETER {
    gbar = 1e-4    (S/cm2)
    ehcn = -45     (mV)
    ka   = 6.43e-3 (/ms-mV)
    va   = -154.9  (mV)
    sa   = 11.9    (mV)
    kb   = 0.193   (/ms)
    sb   = 33.1    (mV)
}

ASSIGNED {
    v    (mV)
    ihcn (mA/cm2)
    g    (S/cm2)
    a    (/ms)
    b    (/ms)
}

STATE {
    c
    o
}

BREAKPOINT {
    SOLVE kin METHOD sparse
    g = gbar * o
    ihcn = g * (v - ehcn)
}

INITIAL {
    SOLVE kin STEADYSTATE sparse
}

KINETIC kin {
    transitions(v)
    ~ c <-> o (a, b)
    CONSERVE c + o = 1
}

PROCEDURE transitions(vm (mV)) {
    a = ka * efrac(vm - va, sa)
    b = kb * exp(vm / sb)
}

FUNCTION efrac(x (mV), s (mV)) (mV) {
    : x / (exp(x/s) - 1), continuous through x = 0 where it equals s
    if (fabs(x / s) < 1e-6) {
        efrac = s * (1 - x / (2 * s))
    } else {
        efrac = x / (exp(x / s) - 1)
    }
}
