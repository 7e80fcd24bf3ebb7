TITLE assigned_array: an ASSIGNED array filled by a loop

COMMENT
Exercises: an ASSIGNED array w[3], FROM ... TO loops with a LOCAL index, array elements in expressions.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX assigned_array
    RANGE total
}

ASSIGNED {
    w[3]
    total
}

INITIAL {
    LOCAL j
    FROM j = 0 TO 2 {
        w[j] = (j + 1)*0.5
    }
    total = 0
    FROM j = 0 TO 2 {
        total = total + w[j]
    }
}
