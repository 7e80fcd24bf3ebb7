COMMENT
Refused by neurax: USEION na naming a variable of another ion.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX ion_variable_wrong_ion
    USEION na READ ek WRITE ina
}
