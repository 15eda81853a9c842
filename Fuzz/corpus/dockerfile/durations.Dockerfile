FROM x
HEALTHCHECK --interval=9223372036854775807ns --timeout=1.5us --start-period=.5h CMD x
