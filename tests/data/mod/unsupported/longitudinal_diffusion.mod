COMMENT
Refused by neurax: LONGITUDINAL_DIFFUSION in a KINETIC block.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX longitudinal_diffusion
    USEION ca READ ica WRITE cai
}

ASSIGNED {
    diam (um)
    ica (mA/cm2)
}

STATE {
    cai (mM)
}

BREAKPOINT {
    SOLVE spread METHOD sparse
}

KINETIC spread {
    COMPARTMENT diam*diam {cai}
    LONGITUDINAL_DIFFUSION 0.6 {cai}
    ~ cai << (-ica)
}
