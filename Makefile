# Common commands. `make run` and `make test` are the README's two commands.
GO ?= go

.PHONY: run test build vet fmt clickhouse bench

# The whole pipeline locally: ClickHouse (installed and started if missing),
# the embedded Kafka-protocol broker, a demo organisation sent through the
# real webhook endpoint, then the DORA summary. Ctrl-C stops it.
run: clickhouse
	$(GO) run ./cmd/doractl demo

# Every test, against the local ClickHouse server.
test: clickhouse
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

build:
	$(GO) build -o bin/ ./cmd/...

clickhouse:
	bash scripts/clickhouse.sh

bench: clickhouse
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...
