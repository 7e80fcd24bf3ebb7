TITLE statement_over_lines: expressions and declarations spread over several lines

COMMENT
Exercises: an assignment whose expression continues on the next lines (a line starting with an
operator continues the previous expression, as there is no statement terminator), a call whose
arguments span lines, a declaration split between its name and its unit.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX statement_over_lines
    RANGE total, weighted
}

PARAMETER {
    scale
        = 2.5
        (1)
}

ASSIGNED {
    total
    weighted
}

INITIAL {
    total = 3
        - 1
    weighted = combine(total,
                       scale,
                       4)
        + 10*
          scale
}

FUNCTION combine(a, b,
                 c) {
    combine = a*b
              + c
}
