TITLE protect_mutex: thread-safety statements around updates of GLOBALs

COMMENT
Exercises: PROTECT before an assignment and MUTEXLOCK ... MUTEXUNLOCK around statements, in a
THREADSAFE mechanism with GLOBAL ASSIGNED values.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX protect_mutex
    GLOBAL calls, last
}

ASSIGNED {
    v (mV)
    calls
    last (mV)
}

INITIAL {
    calls = 0
    last = 0
}

BREAKPOINT {
    PROTECT calls = calls + 1
    MUTEXLOCK
    last = v
    MUTEXUNLOCK
}
