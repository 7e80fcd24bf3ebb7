TITLE comments_title: every kind of comment   : the TITLE takes the rest of its line

COMMENT
Exercises: TITLE, comment blocks (here, between two blocks and inside BREAKPOINT), colon comments
on their own line and after code, question-mark comments, comments that hold braces { and block
keywords such as BREAKPOINT, and a quote ' in a comment.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

: a colon comment before the NEURON block { not a brace }
NEURON {
    SUFFIX comments_title  : the name
    NONSPECIFIC_CURRENT i  ? a question-mark comment
    RANGE g                : g is per instance
}

COMMENT
A second COMMENT block, between two blocks: PARAMETER { x = 1 } is not read.
ENDCOMMENT

PARAMETER {
    g = 2e-4 (S/cm2)   : conductance
    ? e is the reversal potential
    e = -65 (mV)
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
}

BREAKPOINT {
    : the current
    i = g*(v - e)   ? ohmic: the current's sign is outward positive
    COMMENT
    i = 0
    ENDCOMMENT
}
