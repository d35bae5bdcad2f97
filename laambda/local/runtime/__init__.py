"""laambda's own Lambda runtime: a function's published code run in a subprocess on this
machine through the Lambda Runtime API, as Lambda's execution environments run it.

May import what laambda.local may (it uses the build sandbox of laambda.building)."""
