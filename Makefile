# firstparty: the two commands are `make run` and `make test`.
GO ?= go
PORT ?= 8080
SHOP_PORT ?= 8081
FUZZTIME ?= 60s
TEST_FUZZTIME ?= 15s

.PHONY: help run test test-short fuzz bench caddy cli vet clean chromium screenshots

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

caddy: ## build Caddy with firstparty into bin/caddy
	$(GO) build -o bin/caddy ./cmd/caddy

cli: ## build the developer CLI into bin/firstparty
	$(GO) build -o bin/firstparty ./cmd/firstparty

run: caddy ## start the demo shop behind Caddy + firstparty and print the URL
	@echo "firstparty demo shop: http://localhost:$(PORT)/  (the shop itself, unrewritten: http://localhost:$(SHOP_PORT)/)"
	FP_PORT=$(PORT) FP_SHOP_PORT=$(SHOP_PORT) FP_DEMO_ROOT=$(CURDIR)/testdata/demo ./bin/caddy run --config testdata/run.Caddyfile --adapter caddyfile

test: vet chromium ## run every test, then each fuzz target for TEST_FUZZTIME
	$(GO) test ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(TEST_FUZZTIME)

test-short: ## the tests without the slow corpus passes
	$(GO) test -short ./...

fuzz: ## explore with each fuzz target for FUZZTIME; commit what it finds under testdata/fuzz
	$(GO) test ./rewrite -run '^$$' -fuzz '^FuzzRewrite$$' -fuzztime $(FUZZTIME)
	$(GO) test ./rewrite -run '^$$' -fuzz '^FuzzPassthrough$$' -fuzztime $(FUZZTIME)
	$(GO) test ./blocklists -run '^$$' -fuzz '^FuzzParseList$$' -fuzztime $(FUZZTIME)
	$(GO) test ./caddymodule -run '^$$' -fuzz '^FuzzConsentCookies$$' -fuzztime $(FUZZTIME)
	$(GO) test ./caddymodule -run '^$$' -fuzz '^FuzzProxyCall$$' -fuzztime $(FUZZTIME)

bench: ## print throughput against baselines measured in the same run, allocations and heap
	FP_BENCH=1 $(GO) test -p 1 ./rewrite ./blocklists -run '^TestPerfReport$$' -count=1 -v -timeout 30m
	FP_BENCH=1 $(GO) test ./caddymodule -run '^TestLoadReport(Proxy)?$$' -count=1 -v -timeout 10m

vet:
	$(GO) vet ./...

# The browser tests need Debian's Chromium; installing it needs root (or
# sudo). Without it they skip with a message, except in CI, where they fail.
chromium: ## install Debian's Chromium for the browser tests, when missing
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Chromium for the browser tests (apt-get install chromium)"; \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null \
		|| echo "could not install Chromium: the browser tests will skip"; }

screenshots: chromium ## write the banner screenshots under docs/
	FP_SCREENSHOTS=1 $(GO) test ./caddymodule -run '^TestBrowserScreenshots$$' -count=1

clean:
	rm -rf bin
