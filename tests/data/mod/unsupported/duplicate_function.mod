COMMENT
Refused by neurax: a FUNCTION defined twice.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX duplicate_function
}

FUNCTION f(x) {
    f = x
}

FUNCTION f(x) {
    f = 2*x
}
