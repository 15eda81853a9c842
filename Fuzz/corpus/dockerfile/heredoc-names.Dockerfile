FROM alpine:3.6
RUN <<eo\'f
echo foo
eo'f
RUN <<'e'o\'f
echo foo
eo'f
RUN <<'one two'
echo bar
one two
RUN 3<<-"${X:-EOF}" <<  $Y
	body
	${X:-EOF}
$Y
COPY <<X <<Y /dest
Y
X
X
Y
ONBUILD RUN <<'E'
e
E
WORKDIR app
USER nobody:nogroup
WORKDIR sub
