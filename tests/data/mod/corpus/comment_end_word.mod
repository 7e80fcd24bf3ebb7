TITLE comment_end_word: a comment block that names its own end marker

COMMENT
Exercises: the end marker of a comment block only counts as the first word of a line, so this
sentence, which mentions ENDCOMMENT in its middle, is still part of the comment (nocmodl's rule).
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX comment_end_word
    RANGE level
}

ASSIGNED {
    level
}

INITIAL {
    level = 1
}
