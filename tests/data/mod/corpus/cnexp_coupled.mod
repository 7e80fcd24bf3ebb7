TITLE cnexp_coupled: two states where one drives the other

COMMENT
Exercises: coupled states under METHOD cnexp (s depends on x, which is updated first), a
right-hand side that does not contain its own state.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX cnexp_coupled
    RANGE k, drive
}

PARAMETER {
    k = 0.5 (/ms)
    drive = 0.01 (/ms)
}

STATE {
    x
    s
    w
}

INITIAL {
    x = 1
    s = 0
    w = 0
}

BREAKPOINT {
    SOLVE pair METHOD cnexp
}

DERIVATIVE pair {
    x' = -x*k
    s' = x - s
    w' = drive + 3*x
}
