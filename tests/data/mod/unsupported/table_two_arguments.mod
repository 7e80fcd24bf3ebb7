COMMENT
Refused by neurax: a TABLE in a FUNCTION of two arguments (nocmodl: 'must have exactly one argument').
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX table_two_arguments
    RANGE y
}

ASSIGNED {
    y
}

INITIAL {
    y = f(1, 2)
}

FUNCTION f(a, b) {
    TABLE FROM 0 TO 1 WITH 10
    f = a + b
}
