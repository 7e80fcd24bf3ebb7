TITLE brace_next_line: opening braces on the line after the keyword

COMMENT
Exercises: the `{` of the NEURON, PARAMETER, STATE, INITIAL, BREAKPOINT, DERIVATIVE, FUNCTION blocks
and of an if/else on the next line, and `}` followed by `else` on another line.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON
{
    SUFFIX brace_next_line
    RANGE tau
}

PARAMETER
{
    tau = 2 (ms)
}

STATE
{
    x
}

INITIAL
{
    x = start(1)
}

BREAKPOINT
{
    SOLVE dyn METHOD cnexp
}

DERIVATIVE dyn
{
    x' = -x/tau
}

FUNCTION start(flagval)
{
    if (flagval > 0)
    {
        start = 1
    }
    else
    {
        start = 0
    }
}
