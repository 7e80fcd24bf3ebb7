TITLE legacy_kdr_forms: forms of older published channel files

COMMENT
Exercises: forms that channel files of the 1990s and 2000s in ModelDB use (e.g. the Traub et al. 2005 and
the Destexhe thalamic models): a TABLE over ASSIGNED arrays (inf[2], fac[2]) in a PROCEDURE with DEPEND dt
and celsius, GLOBAL arrays, the states advanced by a SOLVE'd PROCEDURE (explicit exponential updates, no
METHOD), a state set to a plain number at the end of INITIAL, a VERBATIM "return 0;" ending the PROCEDURE
(older files end INITIAL so too; NEURON 9's C++ refuses that there) and an old-style INDEPENDENT block.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

INDEPENDENT { t FROM 0 TO 1 WITH 1 (ms) }

NEURON {
    SUFFIX legacy_kdr_forms
    USEION k READ ek WRITE ik
    RANGE gbar, ik
    GLOBAL inf, fac
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
}

PARAMETER {
    gbar = 0.01 (mho/cm2)
    v (mV)
    ek (mV)
    celsius (degC)
    dt (ms)
}

ASSIGNED {
    ik (mA/cm2)
    inf[2]
    fac[2]
}

STATE { n q }

INITIAL {
    rates(v)
    n = inf[0]
    q = inf[1]
    q = 1
}

BREAKPOINT {
    SOLVE states
    ik = gbar * n * n * n * n * q * (v - ek)
}

PROCEDURE states() {
    rates(v)
    n = n + fac[0] * (inf[0] - n)
    q = q + fac[1] * (inf[1] - q)
    VERBATIM
    return 0;
    ENDVERBATIM
}

PROCEDURE rates(v (mV)) {
    LOCAL a, b, qt, tau
    TABLE inf, fac DEPEND dt, celsius FROM -100 TO 100 WITH 200
    qt = 3 ^ ((celsius - 22) / 10)
    a = 0.01 * vtrap(-(v + 55), 10)
    b = 0.125 * exp(-(v + 65) / 80)
    tau = 1 / (qt * (a + b))
    inf[0] = a / (a + b)
    fac[0] = 1 - exp(-dt / tau)
    inf[1] = 1 / (1 + exp((v + 60) / 8))
    fac[1] = 1 - exp(-dt * qt / 200)
}

FUNCTION vtrap(x, y) {
    if (fabs(x / y) < 1e-6) {
        vtrap = y * (1 - x / y / 2)
    } else {
        vtrap = x / (exp(x / y) - 1)
    }
}
