FROM golang:1.22 AS build
RUN <<EOF
go build ./...
EOF
COPY <<-"END" /etc/x
	content
	END
FROM alpine
COPY --from=build /out /app
ADD https://example.com/a.tgz /opt/
