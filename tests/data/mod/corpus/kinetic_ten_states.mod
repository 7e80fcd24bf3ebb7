TITLE kinetic_ten_states: an allosteric K channel, ten states, steady state by sparse

COMMENT
Four voltage-driven closed states, an open state and an inactivated copy of each, coupled by a
voltage-independent inactivation that is weaker the further the channel is from opening (factor fi per
step). INITIAL solves the steady state (STEADYSTATE sparse: Newton's method with row exchanges), BREAKPOINT
the backward-Euler step (sparse), both with the CONSERVE equation in place of O's. A scheme this large once
took XLA minutes to compile when the steady state's row exchanges were written out as selects.

Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX kinetic_ten_states
    USEION k READ ek WRITE ik
    RANGE gbar
    GLOBAL a0, za, b0, zb, kon, koff, fi
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
    FARADAY = (faraday) (coulomb)
    R = (k-mole) (joule/degC)
}

PARAMETER {
    gbar = 0.02 (S/cm2)
    a0 = 1.5 (/ms)
    za = 0.8
    b0 = 0.12 (/ms)
    zb = -1.1
    kon = 0.04 (/ms)
    koff = 0.003 (/ms)
    fi = 0.35
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    celsius (degC)
    af (/ms)
    bf (/ms)
}

STATE { C0 C1 C2 C3 O I0 I1 I2 I3 IO }

BREAKPOINT {
    SOLVE kin METHOD sparse
    ik = gbar * O * (v - ek)
}

INITIAL {
    SOLVE kin STEADYSTATE sparse
}

KINETIC kin {
    rates(v)
    ~ C0 <-> C1 (4 * af, bf)
    ~ C1 <-> C2 (3 * af, 2 * bf)
    ~ C2 <-> C3 (2 * af, 3 * bf)
    ~ C3 <-> O (af, 4 * bf)
    ~ I0 <-> I1 (4 * af, bf)
    ~ I1 <-> I2 (3 * af, 2 * bf)
    ~ I2 <-> I3 (2 * af, 3 * bf)
    ~ I3 <-> IO (af, 4 * bf)
    ~ C0 <-> I0 (kon * fi * fi * fi * fi, koff)
    ~ C1 <-> I1 (kon * fi * fi * fi, koff)
    ~ C2 <-> I2 (kon * fi * fi, koff)
    ~ C3 <-> I3 (kon * fi, koff)
    ~ O <-> IO (kon, koff)
    CONSERVE C0 + C1 + C2 + C3 + I0 + I1 + I2 + I3 + IO + O = 1
}

PROCEDURE rates(v (mV)) {
    LOCAL phi
    phi = v * FARADAY / (R * (celsius + 273.15)) / 1000
    af = a0 * exp(za * phi)
    bf = b0 * exp(zb * phi)
}
