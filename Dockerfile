# One image for every doraflow command (collector, aggregator, api,
# doractl); docker-compose.yml chooses the command per service.
#
#   docker build -t doraflow .
#   docker run --rm doraflow doractl help

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/...

FROM alpine:3.22
# tzdata: report time zones (metrics.time_zone); ca-certificates: Backstage
# and other HTTPS endpoints. busybox wget serves the health checks.
RUN apk add --no-cache ca-certificates tzdata \
    && adduser -D -H -u 10001 doraflow \
    && mkdir -p /var/lib/doraflow && chown doraflow /var/lib/doraflow
COPY --from=build /out/ /usr/local/bin/
USER doraflow
# Listen on every interface inside the container; the defaults are
# loopback-only for running on a workstation.
# Without kafka.brokers (doractl serve), the embedded broker's log goes to
# /var/lib/doraflow: mount a volume there to keep it.
ENV DORA_COLLECTOR_LISTEN=0.0.0.0:8080 \
    DORA_API_LISTEN=0.0.0.0:8081 \
    DORA_AGGREGATOR_LISTEN=0.0.0.0:8082 \
    DORA_KAFKA_EMBEDDED_DATA_DIR=/var/lib/doraflow/kafka
EXPOSE 8080 8081 8082
CMD ["api"]
