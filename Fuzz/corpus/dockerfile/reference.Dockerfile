# syntax=docker/dockerfile:1
ARG  CODE_VERSION=latest
FROM --platform=$BUILDPLATFORM base:${CODE_VERSION} AS app
ARG username
USER ${username:-some_user}
ENV MY_NAME="John Doe" MY_DOG=Rex\ The\ Dog \
    MY_CAT=fluffy
ENV MY_VAR my-value
ENV abc=bye def=$abc ghi=${abc%%y*} jkl=${abc/y/Y}
LABEL "com.example.vendor"="ACME Incorporated" version="1.0"
LABEL description="This text illustrates \
that label-values can span multiple lines."
WORKDIR /a
WORKDIR b
COPY --chown=55:mygroup --chmod=644 hom* arr[[]0].txt /mydir/
COPY ["a b", "."]
ADD --exclude=*.tmp . /srv/
EXPOSE 80/udp 8000-8002/tcp $PORT
VOLUME ["/data"]
VOLUME /var/log /var/db
STOPSIGNAL SIGKILL
HEALTHCHECK --interval=5m --timeout=3s \
  CMD curl -f http://localhost/ || exit 1
SHELL ["powershell", "-command"]
ENTRYPOINT exec top -b
CMD ["-c"]
ONBUILD ADD . /app/src
MAINTAINER someone
