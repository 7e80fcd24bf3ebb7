COMMENT
CaPool: free intracellular calcium in a thin sub-membrane shell

    dcai/dt = -gamma * ica / (2 F depth) - (cai - cafloor)/decay

Calcium entering through the membrane (ica, inward negative) fills a shell
of thickness depth below the membrane; only the fraction gamma stays free
(the rest is taken up by fast buffers), and the free calcium relaxes to
the resting floor cafloor with time constant decay (lumped pumps and
diffusion). 2 F depth converts the current density into a molar rate
(valence 2); with ica in mA/cm2, depth in um, F in C/mol and cai in mM
the conversion factor is 1e4.

Equations
    Destexhe A, Babloyantz A, Sejnowski TJ (1993) Ionic mechanisms for
    intrinsic slow oscillations in thalamic relay neurons. Biophysical
    Journal 65:1538-1552; Destexhe A, Mainen ZF, Sejnowski TJ (1994)
    Synthesis of models for excitable membranes, synaptic transmission and
    neuromodulation using a common kinetic formalism. Journal of
    Computational Neuroscience 1:195-230.
    Free-calcium fraction and floor as in Hay E et al. (2011) PLoS
    Computational Biology 7:e1002107.

Temperature correction
    none.

Parameters (units)
    gamma    (1)    fraction of entering calcium that stays free, 0.0005
                    (the somatic fits of Hay et al. 2011 are ~5e-4; values
                    up to 0.05 are used for dendritic/nanodomain pools)
    decay    (ms)   time constant of removal, 80 (fitted values range
                    from tens to hundreds of ms)
    depth    (um)   depth of the sub-membrane shell, 0.1
    cafloor  (mM)   resting (floor) concentration, 1e-4

The ODE is integrated with METHOD derivimplicit. INITIAL sets cai to the
floor value.

Written for neurax from the published equations (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX CaPool
    USEION ca READ ica WRITE cai
    RANGE gamma, decay, depth, cafloor
}

UNITS {
    (mA)    = (milliamp)
    (mM)    = (milli/liter)
    (um)    = (micron)
    FARADAY = (faraday) (coulomb)
}

PARAMETER {
    gamma   = 0.0005 (1)
    decay   = 80   (ms)
    depth   = 0.1  (um)
    cafloor = 1e-4 (mM)
}

ASSIGNED {
    ica (mA/cm2)
}

STATE {
    cai (mM)
}

INITIAL {
    cai = cafloor
}

BREAKPOINT {
    SOLVE pool METHOD derivimplicit
}

DERIVATIVE pool {
    LOCAL influx
    influx = -(1e4) * gamma * ica / (2 * FARADAY * depth)
    cai' = influx - (cai - cafloor) / decay
}
