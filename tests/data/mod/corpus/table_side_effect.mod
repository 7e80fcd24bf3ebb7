TITLE table_side_effect: a TABLE'd procedure that also sets a GLOBAL, with over-precise defaults

COMMENT
Exercises three things that nocmodl does and a reader of the file may not expect:

- The TABLE'd procedure settables calls rates, which assigns the GLOBAL tadj besides the two tabled
  values. NEURON builds the table by running the body at every grid point, so tadj keeps the value of the
  last point and the lookups that follow never assign it; BREAKPOINT reads it.
- PARAMETER defaults and a STATE's START value written with more than six significant digits. nocmodl
  prints them into the C it generates with %g, so NEURON simulates with six digits (vhalf -21.3457, not
  -21.3456789). The state w is not set by INITIAL and starts from its START value.
- INITIAL reads usetable, the variable that a TABLE creates (usetable_table_side_effect in hoc): 1 where the table
  is used, 0 with the exact formulas. The test-only offset below makes its value visible in the voltage.

Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX table_side_effect
    USEION k READ ek WRITE ik
    RANGE gbar
    GLOBAL q10, tadj, vhalf, slope
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gbar = 0.0123456789 (S/cm2)
    vhalf = -21.3456789 (mV)
    slope = 9.87654321 (mV)
    q10 = 2.71828183
    tref = 23.4567891 (degC)
    taumin = 0.512345678 (ms)
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    celsius (degC)
    ninf
    ntau (ms)
    tadj
}

STATE {
    n
    w START 0.333333333333
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    ik = gbar * tadj * n * n * n * n * (1 + w) * (v - ek)
}

INITIAL {
    settables(v)
    n = ninf + 0.01 * usetable
}

DERIVATIVE states {
    settables(v)
    n' = (ninf - n) / ntau
    w' = -w / 50
}

PROCEDURE settables(v (mV)) {
    TABLE ninf, ntau DEPEND celsius FROM -100 TO 100 WITH 200
    rates(v)
}

PROCEDURE rates(v (mV)) {
    tadj = q10 ^ ((celsius - tref) / 10)
    ninf = 1 / (1 + exp(-(v - vhalf) / slope))
    ntau = taumin + 4 / (tadj * (exp((v + 30) / 25) + exp(-(v + 30) / 30)))
}
