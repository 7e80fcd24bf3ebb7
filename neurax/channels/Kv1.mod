COMMENT
Kv1: low-threshold, slowly inactivating (D-type) potassium current, Kv1.1/1.2

    ik = gbar * w^4 * z * (v - ek)

Equations
    Rothman JS, Manis PB (2003) The roles potassium currents play in
    regulating the electrical activity of ventral cochlear nucleus neurons.
    Journal of Neurophysiology 89:3097-3113 (the low-threshold current I_KLT).

    winf = (1 + exp(-(v + 48)/6))^(-1/4)
    zinf = (1 - zeta)/(1 + exp((v + 71)/10)) + zeta,        zeta = 0.5
    wtau = (100/(6 exp((v + 60)/6) + 16 exp(-(v + 60)/45)) + 1.5)/tadj
    ztau = (1000/(exp((v + 60)/20) + exp(-(v + 60)/8)) + 50)/tadj
    (time constants in ms, voltages in mV). zeta is the fraction of the
    conductance that does not inactivate.

Temperature correction
    tadj = q10^((celsius - tref)/10) applied to both time constants;
    tref = 22 degC (the temperature of the fitted kinetics), q10 = 3.

Parameters (units)
    gbar  (S/cm2)  peak conductance, default 0.01 (type II VCN bushy cells:
                   about 200 nS in a 12 pF cell, i.e. ~0.017 S/cm2)
    zeta  (1)      non-inactivating fraction, 0.5
    q10   (1)      3 (set q10 = 1 to use the 22 degC kinetics unchanged)
    tref  (degC)   22

Written for neurax from the published equations (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX Kv1
    USEION k READ ek WRITE ik
    RANGE gbar, g, ik
    RANGE winf, zinf, wtau, ztau
    GLOBAL zeta, q10, tref
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S)  = (siemens)
}

PARAMETER {
    gbar = 0.01 (S/cm2)
    zeta = 0.5  (1)
    q10  = 3    (1)
    tref = 22   (degC)
}

ASSIGNED {
    v       (mV)
    ek      (mV)
    celsius (degC)
    ik      (mA/cm2)
    g       (S/cm2)
    winf    (1)
    zinf    (1)
    wtau    (ms)
    ztau    (ms)
}

STATE {
    w
    z
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar * w * w * w * w * z
    ik = g * (v - ek)
}

INITIAL {
    klt(v)
    w = winf
    z = zinf
}

DERIVATIVE states {
    klt(v)
    w' = (winf - w) / wtau
    z' = (zinf - z) / ztau
}

UNITSOFF
PROCEDURE klt(vm (mV)) {
    LOCAL tadj, d
    tadj = q10 ^ ((celsius - tref) / 10)
    d = vm + 60
    winf = (1 + exp(-(vm + 48) / 6)) ^ (-0.25)
    zinf = (1 - zeta) / (1 + exp((vm + 71) / 10)) + zeta
    wtau = (100 / (6 * exp(d / 6) + 16 * exp(-d / 45)) + 1.5) / tadj
    ztau = (1000 / (exp(d / 20) + exp(-d / 8)) + 50) / tadj
}
UNITSON
