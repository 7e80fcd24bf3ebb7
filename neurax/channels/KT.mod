COMMENT
KT: fast transient (A-type-like) potassium current

    ik = gbar * m^4 * h * (v - ek)

Equations
    Korngreen A, Sakmann B (2000) Voltage-gated K+ channels in layer 5
    neocortical pyramidal neurones from young rats: subtypes and gradients.
    Journal of Physiology 525:621-639 (the fast, "K_T" component).
    Curves shifted by vshift = -10 mV as in Hay E et al. (2011) PLoS
    Computational Biology 7:e1002107. With u = v - vshift:

    minf = 1/(1 + exp(-u/19))
    mtau = (0.34 + 0.92 exp(-((u + 71)/59)^2))/tadj
    hinf = 1/(1 + exp((u + 66)/10))
    htau = (8 + 49 exp(-((u + 73)/23)^2))/tadj
    (time constants in ms, voltages in mV)

Temperature correction
    tadj = q10^((celsius - tref)/10), q10 = 2.3, tref = 21 degC
    The rate tables are rebuilt when celsius, q10, tref or vshift change
    (TABLE ... DEPEND).

Parameters (units)
    gbar    (S/cm2)  peak conductance, default 0.05 (library default; fitted
                     values differ between cells and compartments)
    vshift  (mV)     shift of all voltage dependences, -10
    q10     (1)      2.3
    tref    (degC)   21

Written for neurax from the published equations (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX KT
    USEION k READ ek WRITE ik
    RANGE gbar, g, ik
    GLOBAL minf, hinf, mtau, htau, vshift, q10, tref
    THREADSAFE : the GLOBAL rate variables become per-thread copies
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S)  = (siemens)
}

PARAMETER {
    gbar   = 0.05 (S/cm2)
    vshift = -10  (mV)
    q10    = 2.3  (1)
    tref   = 21   (degC)
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
    g = gbar * m * m * m * m * h
    ik = g * (v - ek)
}

INITIAL {
    tabulate(v)
    m = minf
    h = hinf
}

DERIVATIVE states {
    tabulate(v)
    m' = (minf - m) / mtau
    h' = (hinf - h) / htau
}

UNITSOFF
PROCEDURE tabulate(vm (mV)) {
    LOCAL u, tadj
    TABLE minf, hinf, mtau, htau DEPEND celsius, q10, tref, vshift FROM -100 TO 100 WITH 400

    u = vm - vshift
    tadj = q10 ^ ((celsius - tref) / 10)
    minf = 1 / (1 + exp(-u / 19))
    mtau = (0.34 + 0.92 * bump(u, -71, 59)) / tadj
    hinf = 1 / (1 + exp((u + 66) / 10))
    htau = (8 + 49 * bump(u, -73, 23)) / tadj
}

FUNCTION bump(x, centre, width) {
    bump = exp(-((x - centre) / width) ^ 2)
}
UNITSON
