TITLE net_receive_watch: a threshold detector built from WATCH

COMMENT
Exercises: net_send(0, 1) in INITIAL, WATCH (v > thresh) in NET_RECEIVE, flags, net_event, a
POINT_PROCESS without currents.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    POINT_PROCESS net_receive_watch
    RANGE thresh, nspikes
}

UNITS {
    (mV) = (millivolt)
}

PARAMETER {
    thresh = -20 (mV)
}

ASSIGNED {
    v (mV)
    nspikes
}

INITIAL {
    nspikes = 0
    net_send(0, 1)
}

NET_RECEIVE(w) {
    if (flag == 1) {
        WATCH (v > thresh) 2
    } else if (flag == 2) {
        nspikes = nspikes + 1
        net_event(t)
    }
}
