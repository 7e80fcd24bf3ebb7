TITLE	tabs_indent: tabs for indentation and between tokens

COMMENT
Exercises: tab characters for indentation, between names, values and units, and before comments.
Written for neurax's test suite (MIT licence).
ENDCOMMENT

NEURON	{
	SUFFIX	tabs_indent
	NONSPECIFIC_CURRENT	i
	RANGE	g,	e
}

PARAMETER	{
	g	=	1e-4	(S/cm2)		: tabbed
	e	=	-50	(mV)
}

ASSIGNED	{
	v	(mV)
	i	(mA/cm2)
}

BREAKPOINT	{
		i	=	g*(v	-	e)
}
