# Parley: `make run` starts everything locally, `make test` runs every test.
# Both install what they need from Debian's packages when it is missing.

GO        ?= go
BIN       := bin
BUILD     := build
WASM_EXEC := $(shell $(GO) env GOROOT)/lib/wasm/wasm_exec.js
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Fuzz budget per fuzz target in `make test`.
# Fuzz runs are counted in executions, not seconds: with a duration, Go
# 1.26's fuzz coordinator can fail a clean run with "context deadline
# exceeded" as the time runs out (go.dev/issue/75804, fixed in Go 1.27).
FUZZTIME  ?= 40000x

.PHONY: all build wasm servers run test test-go fuzz bench deps-postgres deps-chromium deps-mailpit deps-nats deps-caddy release clean

# Mailpit, the local mail catcher of `make run` and the tests, built from
# source by the Go toolchain (no download of its own), once.
MAILPIT_VERSION := v1.33.1
# NATS, the bus between backends beyond one machine (BUS_URL), for the
# tests and the scale benchmarks: the real server, built the same way.
NATS_VERSION    := v2.15.2

all: build

build: wasm servers

wasm: $(BUILD)/widget.wasm.br
	cp $(WASM_EXEC) $(BUILD)/wasm_exec.js

# No inlining (-l) in the wasm: about 40 KB less brotli for the page to load
# (README, "What the widget costs a page"). go build runs every time (its
# cache makes that quick); widget.wasm is replaced only when its bytes change,
# so the .br below is redone only then. The dot name keeps an edge starting
# meanwhile from serving the half-built file.
$(BUILD)/widget.wasm: FORCE
	@mkdir -p $(BUILD)
	GOOS=js GOARCH=wasm $(GO) build -trimpath -gcflags=all=-l -ldflags='-s -w' -o $(BUILD)/.widget.wasm.tmp ./wasm
	@if cmp -s $(BUILD)/.widget.wasm.tmp $@; then rm $(BUILD)/.widget.wasm.tmp; else mv $(BUILD)/.widget.wasm.tmp $@; fi
FORCE:

# Brotli quality 11 once per wasm here, not seconds of CPU after every edge
# start; the edge checks that the .br decodes to the widget.wasm it serves.
$(BUILD)/widget.wasm.br: $(BUILD)/widget.wasm
	$(GO) run ./edge/cmd/parley-precompress $<

servers:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -o $(BIN)/ ./backend/cmd/parley-backend ./backend/cmd/parley-dev ./edge/cmd/parley-edge

# One binary per role for Linux servers: dist/linux-<arch>/parley-backend
# and parley-edge, the edge with public/ and the built widget embedded (the
# wasm is built first: the edge's compile embeds it), the version stamped
# in (--version, /healthz), and the deploy/ files beside them.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
EMBED     := edge/cmd/parley-edge/embedded
LDFLAGS   := -s -w -X github.com/parleychat/parley/internal/version.Version=$(VERSION)
release: wasm
	rm -rf $(EMBED) && mkdir -p $(EMBED)/public $(EMBED)/build
	cp -r public/. $(EMBED)/public/ && find $(EMBED)/public -name '*.go' -delete
	cp $(BUILD)/widget.wasm $(BUILD)/widget.wasm.br $(BUILD)/wasm_exec.js $(EMBED)/build/
	for arch in amd64 arm64; do \
		mkdir -p dist/linux-$$arch && \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -tags release -trimpath -ldflags '$(LDFLAGS)' \
			-o dist/linux-$$arch/ ./backend/cmd/parley-backend ./edge/cmd/parley-edge || exit 1; \
		cp -r deploy dist/linux-$$arch/; \
	done
	rm -rf $(EMBED)
	@echo "dist/: parley-backend and parley-edge $(VERSION) for linux/amd64 and linux/arm64"

run: deps-postgres deps-mailpit build
	$(BIN)/parley-dev -data .data -bin $(BIN)

# PostgreSQL's server binaries (initdb, pg_ctl, postgres) from Debian, if missing.
deps-postgres:
	@if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		echo "installing PostgreSQL from Debian's packages"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql >/dev/null; \
	fi

deps-mailpit: $(BIN)/mailpit
$(BIN)/mailpit:
	@mkdir -p $(BIN)
	GOBIN=$(CURDIR)/$(BIN) $(GO) install github.com/axllent/mailpit@$(MAILPIT_VERSION)

deps-nats: $(BIN)/nats-server
$(BIN)/nats-server:
	@mkdir -p $(BIN)
	GOBIN=$(CURDIR)/$(BIN) $(GO) install github.com/nats-io/nats-server/v2@$(NATS_VERSION)

# Chromium for the browser tests, from Debian, if missing.
deps-chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "installing Chromium from Debian's packages"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi

# Caddy (the reverse proxy of deploy/Caddyfile, run by the deploy test), from Debian, if missing.
deps-caddy:
	@if ! command -v caddy >/dev/null 2>&1; then \
		echo "installing Caddy from Debian's packages"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq caddy >/dev/null; \
	fi

test: deps-postgres deps-chromium deps-mailpit deps-nats deps-caddy build release test-go fuzz

# Packages run one at a time (-p 1): each starts its own throwaway PostgreSQL,
# and the browser tests want the two cores to themselves. The clean-install
# test runs the release binaries of this machine's architecture.
test-go:
	PARLEY_RELEASE_BIN=$(CURDIR)/dist/linux-$(shell $(GO) env GOARCH) \
	PARLEY_BIN=$(CURDIR)/$(BIN) PARLEY_MAILPIT=$(CURDIR)/$(BIN)/mailpit PARLEY_NATS=$(CURDIR)/$(BIN)/nats-server PARLEY_BUILD=$(CURDIR)/$(BUILD) PARLEY_PUBLIC=$(CURDIR)/public \
		$(GO) test -p 1 -count=1 -timeout 25m ./...

# Short fuzz runs of every decoder of client input.
fuzz:
	@grep -rl --include='*_test.go' '^func Fuzz' . | while read f; do \
		pkg=$$(dirname $$f); \
		for fn in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$f | sed 's/^func //'); do \
			echo "fuzz $$pkg $$fn"; \
			$(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# Figures, not pass/fail: each step prints what it measured against its target.
# The load steps start their own throwaway PostgreSQL (fsync on) and servers.
# First the efficiency figures: new conversations/s (open); messages/s at 100
# and 1,000 visitors with 10 agents' pages open, and 100 again for the run's
# drift (visitors); CPU per message at
# a fixed 1,000/s, with pgbench's INSERT rate on the same cluster (cpu).
bench: deps-postgres deps-mailpit deps-nats build
	$(GO) build -o $(BIN)/ ./backend/cmd/parley-load
	$(BIN)/parley-load -bin $(BIN) -public public -build $(BUILD) open
	$(BIN)/parley-load -bin $(BIN) -public public -build $(BUILD) visitors
	$(BIN)/parley-load -bin $(BIN) -public public -build $(BUILD) cpu
	$(GO) test -run='^$$' -bench=. -benchmem ./edge/internal/edge/
	$(BIN)/parley-load -bin $(BIN) -public public -build $(BUILD) throughput
	$(BIN)/parley-load -bin $(BIN) -public public -build $(BUILD) -metrics both throughput
	$(BIN)/parley-load -bin $(BIN) -public public -build $(BUILD) idle
	$(BIN)/parley-load -bin $(BIN) -public public -build $(BUILD) -idle-edges 4 -sockets 70000 -idle-procs 8 idle
	PARLEY_NATS=$(CURDIR)/$(BIN)/nats-server $(GO) test -run='^$$' -bench=NoticesFourBackends -benchtime=200000x ./backend/internal/events/
	$(BIN)/parley-load -bin $(BIN) -public public -build $(BUILD) scale
	$(BIN)/parley-load -bin $(BIN) -public public -build $(BUILD) -nats $(BIN)/nats-server scale
	$(BIN)/parley-load -bin $(BIN) -public public -build $(BUILD) config
	$(GO) run ./edge/cmd/parley-widget-bench -public public -build $(BUILD)
	$(GO) test -run='^$$' -bench=Search -benchtime=3000x ./backend/internal/kb/
	$(GO) test -run='^$$' -bench=List10k -benchtime=20x ./backend/internal/inbox/
	$(GO) test -run='^$$' -bench=Switch10k -benchtime=50x ./backend/internal/inbox/
	$(GO) test -run='^$$' -bench=Console -benchtime=20x ./backend/internal/inbox/
	@echo "reports page over 100,000 conversations: target under 500 ms/page (target-ms)"
	$(GO) test -run='^$$' -bench=Reports100k -benchtime=10x ./backend/internal/inbox/
	$(BIN)/parley-load -bin $(BIN) -public public -build $(BUILD) -mailpit $(BIN)/mailpit mail

clean:
	rm -rf $(BIN) $(BUILD) dist $(EMBED)
