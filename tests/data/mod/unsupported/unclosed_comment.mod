COMMENT
Refused by neurax: a COMMENT that is never closed.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX unclosed_comment
}

COMMENT
this comment runs to the end of the file
