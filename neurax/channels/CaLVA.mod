COMMENT
CaLVA: low-voltage-activated (T-type) calcium current

    ica = gbar * m^2 * h * (v - eca)

Equations
    Avery RB, Johnston D (1996) Multiple channel types contribute to the
    low-voltage-activated calcium current in hippocampal CA3 pyramidal
    neurons. Journal of Neuroscience 16:5567-5582.
    Randall AD, Tsien RW (1997) Contrasting biophysical and pharmacological
    properties of T-type and R-type calcium channels. Neuropharmacology
    36:879-893.
    Boltzmann/logistic fits with the +10 mV correction used by Hay E et al.
    (2011) PLoS Computational Biology 7:e1002107. With u = v - vshift:

    minf = 1/(1 + exp(-(u + 30)/6))
    mtau = (5 + 20/(1 + exp((u + 25)/5)))/tadj
    hinf = 1/(1 + exp((u + 80)/6.4))
    htau = (20 + 50/(1 + exp((u + 40)/7)))/tadj
    (time constants in ms, voltages in mV)

Temperature correction
    tadj = q10^((celsius - tref)/10), q10 = 2.3, tref = 21 degC
    (the rate tables depend on celsius: TABLE ... DEPEND celsius)

Parameters (units)
    gbar    (S/cm2)  peak conductance, default 0.003 (library default; fitted
                     values differ between cells and compartments)
    vshift  (mV)     shift of all voltage dependences, -10
    q10     (1)      2.3
    tref    (degC)   21

Written for neurax from the published equations (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX CaLVA
    USEION ca READ eca WRITE ica
    RANGE gbar, g, ica
    GLOBAL minf, hinf, mtau, htau, vshift, q10, tref
    THREADSAFE : the GLOBAL rate variables become per-thread copies
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S)  = (siemens)
}

PARAMETER {
    gbar   = 0.003 (S/cm2)
    vshift = -10   (mV)
    q10    = 2.3   (1)
    tref   = 21    (degC)
}

ASSIGNED {
    v       (mV)
    eca     (mV)
    celsius (degC)
    ica     (mA/cm2)
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
    ica = g * (v - eca)
}

INITIAL {
    tcurves(v)
    m = minf
    h = hinf
}

DERIVATIVE states {
    tcurves(v)
    m' = (minf - m) / mtau
    h' = (hinf - h) / htau
}

FUNCTION logistic(x (mV), half (mV), width (mV)) (1) {
    logistic = 1 / (1 + exp(-(x - half) / width))
}

PROCEDURE tcurves(vm (mV)) {
    LOCAL u, tadj
    TABLE minf, hinf, mtau, htau DEPEND celsius, vshift, q10, tref FROM -100 TO 100 WITH 200

    u = vm - vshift
    tadj = q10 ^ ((celsius - tref) / 10 (degC))
    minf = logistic(u, -30 (mV), 6 (mV))
    mtau = (5 (ms) + 20 (ms) * logistic(u, -25 (mV), -5 (mV))) / tadj
    hinf = logistic(u, -80 (mV), -6.4 (mV))
    htau = (20 (ms) + 50 (ms) * logistic(u, -40 (mV), -7 (mV))) / tadj
}
