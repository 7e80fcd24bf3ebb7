TITLE nonlinear_gate: a current gated by a nonlinear implicit ODE and a nonlinear binding scheme

COMMENT
For the gradient tests: the gate w and its partner q follow a DERIVATIVE block that is not linear in its
states, with a Jacobian that is not symmetric (METHOD derivimplicit: Newton's method, differentiated
implicitly through lax.custom_root and the small dense solve), and the conductance also needs c, made by a
second-order binding reaction a + b <-> c whose forward rate depends on v (METHOD sparse: Newton steps
too). Both carry current, so the voltage and the loss depend on each.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX nonlinear_gate
    NONSPECIFIC_CURRENT i
    RANGE gbar, e, tau, kon, koff
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S)  = (siemens)
}

PARAMETER {
    gbar = 0.004 (S/cm2)
    e    = -80   (mV)
    tau  = 5     (ms)
    kon  = 0.5   (/ms)
    koff = 0.2   (/ms)
}

ASSIGNED {
    v    (mV)
    i    (mA/cm2)
    winf (1)
}

STATE {
    w
    q
    a
    b
    c
}

INITIAL {
    w = 0.2
    q = 0.3
    a = 0.6
    b = 0.5
    c = 0.1
}

BREAKPOINT {
    SOLVE gate METHOD derivimplicit
    SOLVE binding METHOD sparse
    i = gbar * w * c * (v - e)
}

DERIVATIVE gate {
    winf = 1 / (1 + exp(-(v + 40) / 8))
    w' = (winf - w) * (1 + q * q) / tau
    q' = (w - q) / (2 * tau)
}

KINETIC binding {
    ~ a + b <-> c (kon * exp(v / 40), koff)
}
