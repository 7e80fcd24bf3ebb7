COMMENT
Refused by neurax: net_send() outside NET_RECEIVE and INITIAL.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    POINT_PROCESS net_send_in_breakpoint
}

ASSIGNED {
    v
}

BREAKPOINT {
    net_send(1, 1)
}
