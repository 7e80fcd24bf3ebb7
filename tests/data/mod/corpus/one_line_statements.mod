TITLE one_line_statements: several statements and declarations on one line

COMMENT
Exercises: several declarations on one line in PARAMETER, ASSIGNED and STATE, several assignments on
one line (NMODL has no statement terminator), whole blocks on one line.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON { SUFFIX one_line_statements RANGE a, b, c }

PARAMETER { a = 1 b = 2 (mV) c = 3 }

ASSIGNED { v (mV) p q r }

STATE { x y2 }

INITIAL { p = a q = b r = c x = p + q y2 = r*2 }

BREAKPOINT { SOLVE dyn METHOD cnexp }

DERIVATIVE dyn { x' = -x y2' = -y2/2 }
