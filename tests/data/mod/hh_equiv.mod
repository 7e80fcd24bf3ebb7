TITLE hh_equiv: the squid axon channels of Hodgkin and Huxley, as NEURON's built-in hh computes them

COMMENT
The neurax test suite's NMODL version of NEURON's hh mechanism (Hodgkin AL, Huxley AF (1952) J Physiol
117:500-544, with NEURON's conventions: membrane potential in mV relative to the outside, rest at -65 mV,
rates scaled by 3^((celsius - 6.3)/10)). Every expression is written in the order neurax's built-in
nx.HH() evaluates it, so the importer's mechanism must reproduce nx.HH() to rounding. Written for neurax
(MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX hh_equiv
    USEION na READ ena WRITE ina
    USEION k READ ek WRITE ik
    NONSPECIFIC_CURRENT il
    RANGE gnabar, gkbar, gl, el, gna, gk
    GLOBAL minf, hinf, ninf, mtau, htau, ntau
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gnabar = 0.12 (S/cm2) <0, 1e9>
    gkbar = 0.036 (S/cm2) <0, 1e9>
    gl = 0.0003 (S/cm2) <0, 1e9>
    el = -54.3 (mV)
}

STATE { m h n }

ASSIGNED {
    v (mV)
    celsius (degC)
    ena (mV)
    ek (mV)
    gna (S/cm2)
    gk (S/cm2)
    ina (mA/cm2)
    ik (mA/cm2)
    il (mA/cm2)
    minf hinf ninf
    mtau (ms) htau (ms) ntau (ms)
}

BREAKPOINT {
    SOLVE gates METHOD cnexp
    gna = gnabar*m*m*m*h
    ina = gna*(v - ena)
    gk = gkbar*n*n*n*n
    ik = gk*(v - ek)
    il = gl*(v - el)
}

INITIAL {
    settle(v)
    m = minf
    h = hinf
    n = ninf
}

DERIVATIVE gates {
    settle(v)
    m' = (minf - m)/mtau
    h' = (hinf - h)/htau
    n' = (ninf - n)/ntau
}

PROCEDURE settle(u (mV)) {
    LOCAL q, a, b, total
    TABLE minf, mtau, hinf, htau, ninf, ntau DEPEND celsius FROM -100 TO 100 WITH 200
    q = 3^((celsius - 6.3)/10)
    : sodium activation
    a = 0.1*efrac(-(u + 40), 10)
    b = 4*exp(-(u + 65)/18)
    total = a + b
    mtau = 1/(q*total)
    minf = a/total
    : sodium inactivation
    a = 0.07*exp(-(u + 65)/20)
    b = 1/(exp(-(u + 35)/10) + 1)
    total = a + b
    htau = 1/(q*total)
    hinf = a/total
    : potassium activation
    a = 0.01*efrac(-(u + 55), 10)
    b = 0.125*exp(-(u + 65)/80)
    total = a + b
    ntau = 1/(q*total)
    ninf = a/total
}

FUNCTION efrac(x, y) {
    : x/(exp(x/y) - 1), continued through its removable singularity at x = 0
    if (fabs(x/y) < 1e-6) {
        efrac = y*(1 - x/y/2)
    } else {
        efrac = x/(exp(x/y) - 1)
    }
}
