TITLE math_builtins: the C math library functions a mod file may call

COMMENT
Exercises: exp, log, log10, pow, fabs, sqrt, sin, cos, tan, tanh, sinh, cosh, atan, atan2, asin,
acos, floor, ceil, fmod, erf, the ^ operator (with -2^2 = -4) inside FUNCTIONs.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON {
    SUFFIX math_builtins
    RANGE total
}

ASSIGNED {
    total
}

INITIAL {
    total = mix(0.5)
}

FUNCTION mix(x) {
    mix = exp(x) + log(2*x) + log10(100*x) + pow(x, 3) + fabs(-x) + sqrt(4*x)
    mix = mix + sin(x) + cos(x) + tan(x) + tanh(x) + sinh(x) + cosh(x)
    mix = mix + atan(x) + atan2(x, 2) + asin(x) + acos(x) + erf(x)
    mix = mix + floor(7.5*x) + ceil(7.5*x) + fmod(7, 3*x)
}

FUNCTION caret(x) {
    caret = -2^2 + x^0.5 + 2^3^2
}
