TITLE no_final_newline: the last line has no newline

COMMENT
Exercises: a file that ends right after the closing brace of its last block, without a newline.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX no_final_newline
    RANGE level
}

ASSIGNED {
    level
}

INITIAL {
    level = 5
}