TITLE electrode_clamp: a current pulse injected by an electrode

COMMENT
Exercises: POINT_PROCESS with ELECTRODE_CURRENT, t in BREAKPOINT, && in a condition, limits on
parameters.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    POINT_PROCESS electrode_clamp
    ELECTRODE_CURRENT i
    RANGE del, dur, amp, i
}

UNITS {
    (nA) = (nanoamp)
}

PARAMETER {
    del = 1 (ms) <0, 1e9>
    dur = 2 (ms) <0, 1e9>
    amp = 0.5 (nA)
}

ASSIGNED {
    i (nA)
}

BREAKPOINT {
    if (t >= del && t < del + dur) {
        i = amp
    } else {
        i = 0
    }
}
