COMMENT
Im: muscarinic-sensitive, non-inactivating potassium current (M current)

    ik = gbar * m * (v - ek)

Equations
    Adams PR, Brown DA, Constanti A (1982) M-currents and other potassium
    currents in bullfrog sympathetic neurones. Journal of Physiology
    330:537-572. Rate functions in the form used by Hay E et al. (2011)
    PLoS Computational Biology 7:e1002107:

    am = rmax exp( k (v - vhalf))
    bm = rmax exp(-k (v - vhalf))
    minf = am/(am + bm),  mtau = 1/((am + bm) tadj)
    rmax = 3.3e-3 /ms, k = 0.1 /mV (2.5 * 0.04), vhalf = -35 mV

Temperature correction
    tadj = q10^((celsius - tref)/10), q10 = 2.3, tref = 21 degC
    (rates tabulated with TABLE ... DEPEND celsius)

Parameters (units)
    gbar   (S/cm2)  peak conductance, default 1e-4 (library default, of the
                    order of dendritic densities in Hay et al. 2011)
    rmax   (/ms)    rate at vhalf, 3.3e-3
    k      (/mV)    voltage sensitivity of the rates, 0.1
    vhalf  (mV)     half-activation voltage, -35
    q10    (1)      2.3
    tref   (degC)   21

Written for neurax from the published equations (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX Im
    USEION k READ ek WRITE ik
    RANGE gbar, g, ik
    GLOBAL minf, mtau, rmax, k, vhalf, q10, tref
    THREADSAFE : the GLOBAL rate variables become per-thread copies
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S)  = (siemens)
}

PARAMETER {
    gbar  = 1e-4   (S/cm2)
    rmax  = 3.3e-3 (/ms)
    k     = 0.1    (/mV)
    vhalf = -35    (mV)
    q10   = 2.3    (1)
    tref  = 21     (degC)
}

ASSIGNED {
    v       (mV)
    ek      (mV)
    celsius (degC)
    ik      (mA/cm2)
    g       (S/cm2)
    minf    (1)
    mtau    (ms)
}

STATE {
    m
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar * m
    ik = g * (v - ek)
}

INITIAL {
    mrates(v)
    m = minf
}

DERIVATIVE states {
    mrates(v)
    m' = (minf - m) / mtau
}

PROCEDURE mrates(vm (mV)) {
    LOCAL a, b, tadj
    TABLE minf, mtau DEPEND celsius, rmax, k, vhalf, q10, tref FROM -100 TO 100 WITH 200

    tadj = q10 ^ ((celsius - tref) / 10 (degC))
    a = rmax * exp(k * (vm - vhalf))
    b = rmax * exp(-k * (vm - vhalf))
    minf = a / (a + b)
    mtau = 1 / ((a + b) * tadj)
}
