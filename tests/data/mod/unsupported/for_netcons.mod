COMMENT
Refused by neurax: FOR_NETCONS, a loop over the NetCons of a synapse.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    POINT_PROCESS for_netcons
}

NET_RECEIVE(w, total) {
    INITIAL {
        total = 0
    }
    FOR_NETCONS(w1, total1) {
        total1 = total1 + w
    }
}
