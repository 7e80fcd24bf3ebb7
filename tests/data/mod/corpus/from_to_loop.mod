TITLE from_to_loop: counted loops

COMMENT
Exercises: FROM ... TO loops with and without BY, nested loops, a LOCAL array indexed by an
expression of the loop index.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX from_to_loop
    RANGE acc, down
}

ASSIGNED {
    acc
    down
}

INITIAL {
    LOCAL i, j, parts[4]
    acc = 0
    FROM i = 1 TO 3 {
        FROM j = 0 TO 4 BY 2 {
            acc = acc + i*j
        }
    }
    FROM i = 0 TO 3 {
        parts[i] = i*i
    }
    down = 0
    FROM i = 0 TO 3 {
        down = 10*down + parts[3 - i]
    }
}
