COMMENT
Kv3_1: fast, high-threshold delayed-rectifier potassium current (Kv3.1)

    ik = gbar * n * (v - ek)

Equations
    Rettig J, Wunder F, Stocker M, Lichtinghagen R, Mastiaux F, Beckh S,
    Kues W, Pedarzani P, Schroeter KH, Ruppersberg JP, Veh R, Pongs O (1992)
    Characterization of a Shaw-related potassium channel family in rat brain.
    EMBO Journal 11:2473-2486.
    Fitted functions as used by Hay E et al. (2011) PLoS Computational
    Biology 7:e1002107:

    ninf = 1/(1 + exp(-(v - vhalf)/slope)),   vhalf = 18.7 mV, slope = 9.7 mV
    ntau = taumax/(1 + exp(-(v - vtau)/stau)), taumax = 4 ms,
           vtau = -46.56 mV, stau = 44.14 mV

Temperature correction
    none: the published fit is used unchanged (as in Hay et al. 2011);
    celsius is not read.

Parameters (units)
    gbar    (S/cm2)  peak conductance, default 0.5 (library default, of
                     the order of somatic Kv3.1 densities in layer 5
                     pyramidal cell models)
    vhalf   (mV)     half-activation voltage, 18.7
    slope   (mV)     activation slope factor, 9.7
    taumax  (ms)     maximal time constant, 4
    vtau    (mV)     midpoint of the time-constant sigmoid, -46.56
    stau    (mV)     width of the time-constant sigmoid, 44.14

Written for neurax from the published equations (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX Kv3_1
    USEION k READ ek WRITE ik
    RANGE gbar, g, ik
    RANGE ninf, ntau
    GLOBAL vhalf, slope, taumax, vtau, stau
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S)  = (siemens)
}

PARAMETER {
    gbar   = 0.5    (S/cm2)
    vhalf  = 18.7   (mV)
    slope  = 9.7    (mV)
    taumax = 4      (ms)
    vtau   = -46.56 (mV)
    stau   = 44.14  (mV)
}

ASSIGNED {
    v    (mV)
    ek   (mV)
    ik   (mA/cm2)
    g    (S/cm2)
    ninf (1)
    ntau (ms)
}

STATE {
    n
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar * n
    ik = g * (v - ek)
}

INITIAL {
    steady(v)
    n = ninf
}

DERIVATIVE states {
    steady(v)
    n' = (ninf - n) / ntau
}

PROCEDURE steady(vm (mV)) {
    ninf = 1 / (1 + exp(-(vm - vhalf) / slope))
    ntau = taumax / (1 + exp(-(vm - vtau) / stau))
}
