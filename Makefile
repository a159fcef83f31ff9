# firstparty: the two commands are `make run` and `make test`.
GO ?= go
PORT ?= 8080
SHOP_PORT ?= 8081
FUZZTIME ?= 60s
FUZZMINIMIZETIME ?= 5s
# How long one package's tests may take before go test stops them as hung.
# Go's default is 10 minutes; caddymodule's browser tests took 5 on the
# machines of earlier sessions and 11 on a slower one (2026-12-06, 670 s,
# where make test stopped them at 600 s).
TEST_TIMEOUT ?= 30m
GOTEST = $(GO) test -timeout $(TEST_TIMEOUT)
# Each fuzz target, as package:Target:executions. make fuzz explores with
# each for FUZZTIME; make fuzz FUZZ_BY_COUNT=1 runs each for its number of
# executions instead (about 15 s apiece on a 2-core machine), which avoids
# go.dev/issue/75804: when a duration -fuzztime runs out, Go's coordinator
# can fail the target with "context deadline exceeded" and no input.
# make test does not explore: Go's mutator is random, so a run of it can
# find a new input on one run and not the next, and a gate must give the
# same answer for the same commit. make test runs every target on its
# committed seeds (testdata/fuzz), where each past finding is kept.
FUZZ_TARGETS = rewrite:FuzzRewrite:200000x rewrite:FuzzEncodings:100000x rewrite:FuzzPassthrough:300000x rewrite:FuzzPassUsual:100000x rewrite:FuzzHeaderFilters:100000x rewrite:FuzzStyleSheet:100000x rewrite:FuzzRuleSet:100000x rewrite:FuzzSVG:100000x blocklists:FuzzParseList:150000x \
	caddymodule:FuzzConsentCookies:35000x caddymodule:FuzzProxyCall:25000x caddymodule:FuzzMemo:4000x caddymodule:FuzzConditionals:30000x

.PHONY: help run test test-short fuzz bench caddy cli vet clean chromium qemu npm screenshots

# $(call apt_install,COMMAND,PACKAGE,WHAT): installs Debian's PACKAGE when
# COMMAND is missing, for WHAT (which skips without it); with sudo unless
# root.
define apt_install
	@command -v $(1) >/dev/null 2>&1 || { \
		echo "installing $(2) for $(3) (apt-get install $(2))"; \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(2) >/dev/null \
		|| echo "could not install $(2): $(3) will skip"; }
endef

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

caddy: ## build Caddy with firstparty into bin/caddy
	$(GO) build -o bin/caddy ./cmd/caddy

cli: ## build the developer CLI into bin/firstparty
	$(GO) build -o bin/firstparty ./cmd/firstparty

run: caddy ## start the demo shop behind Caddy + firstparty and print the URL
	@echo "firstparty demo shop: http://localhost:$(PORT)/  (the shop itself, unrewritten: http://localhost:$(SHOP_PORT)/)"
	FP_PORT=$(PORT) FP_SHOP_PORT=$(SHOP_PORT) FP_DEMO_ROOT=$(CURDIR)/testdata/demo ./bin/caddy run --config testdata/run.Caddyfile --adapter caddyfile

# The tests of the parts that several goroutines use at once, which make
# test runs again under the race detector: in blocklists the decision
# cache, its doorkeeper, the table of names, the $domain memo and a
# source's refresh; in caddymodule the page memo, the proxy's shared key
# and one proxy handler serving calls from eight goroutines (its limiter,
# script cache and keyring); in rewrite the facts cache, and the scratch
# memory and nested Writers closed pages hand on (scratchPools,
# nestedPool). The whole of blocklists
# under it takes four minutes, these a few seconds each (caddymodule's
# build under it, two minutes from a cold cache).
RACE_TESTS = ^(TestNames|TestDoorkeeper|TestHeld|TestHeldMadeAtLoad|TestURLCache|TestDomainMemo|TestSetRefresh)$$
RACE_TESTS_CADDY = ^(TestMemoConcurrent|TestMemoBackoffConcurrent|TestProxyKeyShared|TestProxyConcurrent)$$
RACE_TESTS_REWRITE = ^(TestFactsCacheConcurrent|TestScratchConcurrent)$$

# The tests a 32-bit ARM run leaves out: the slowest under emulation
# (each over 10 s there), whose code the other tests run too.
ARM_SKIP = ^(TestSyncState|TestNewWriterAt|TestSyncNonce|TestChunkInvariance|TestMatchCorpus|TestFactFirst|TestFactsDecideCorpus|TestTokenRefs)$$

test: vet chromium qemu npm ## run every test, each fuzz target on its committed seeds included
	$(GOTEST) ./...
	# blocklists' Go in place of its assembly, as other processors build it
	$(GO) vet -tags purego ./blocklists
	$(GOTEST) -tags purego -short ./blocklists
	# the core packages for a 32-bit processor, whose int overflows past 2^31
	GOARCH=386 $(GO) vet ./blocklists ./rewrite
	# and their tests on one (32-bit ARM, under Debian's qemu-user), where
	# pointers take 4 bytes and the structures laid out in cache lines
	# are smaller: without qemu-arm skipped with a message, except in CI
	@if command -v qemu-arm >/dev/null 2>&1; then \
		echo "GOARCH=arm GOARM=7 $(GOTEST) -short -exec qemu-arm -skip '$(ARM_SKIP)' ./blocklists ./rewrite"; \
		GOARCH=arm GOARM=7 $(GOTEST) -short -exec qemu-arm -skip '$(ARM_SKIP)' ./blocklists ./rewrite; \
	elif [ -n "$$CI" ]; then \
		echo "the 32-bit tests need qemu-arm (apt-get install qemu-user): none here" >&2; exit 1; \
	else \
		echo "skipped: the 32-bit tests need qemu-arm; apt-get install qemu-user"; \
	fi
	# the concurrent parts under the race detector, which needs cgo and a C
	# compiler: without them it is skipped with a message, except in CI
	@if [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v "$$($(GO) env CC)" >/dev/null 2>&1; then \
		echo "$(GOTEST) -race -run '$(RACE_TESTS)' ./blocklists"; \
		$(GOTEST) -race -run '$(RACE_TESTS)' ./blocklists && \
		echo "$(GOTEST) -race -run '$(RACE_TESTS_REWRITE)' ./rewrite" && \
		$(GOTEST) -race -run '$(RACE_TESTS_REWRITE)' ./rewrite && \
		echo "$(GOTEST) -race -run '$(RACE_TESTS_CADDY)' ./caddymodule" && \
		$(GOTEST) -race -run '$(RACE_TESTS_CADDY)' ./caddymodule; \
	elif [ -n "$$CI" ]; then \
		echo "the race detector needs cgo and a C compiler ($$($(GO) env CC)): none here" >&2; exit 1; \
	else \
		echo "skipped: the race detector needs cgo and a C compiler ($$($(GO) env CC)); apt-get install gcc"; \
	fi

test-short: ## the tests without the slow corpus passes
	$(GOTEST) -short ./...

fuzz: ## explore with each fuzz target for FUZZTIME; commit what it finds under testdata/fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; n=$${rest#*:}; \
		limit=$(FUZZTIME); [ -z "$(FUZZ_BY_COUNT)" ] || limit=$$n; \
		echo "$(GO) test ./$$pkg -run '^$$' -fuzz '^'$$name'$$' -fuzztime $$limit -fuzzminimizetime $(FUZZMINIMIZETIME)"; \
		$(GO) test ./$$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $$limit -fuzzminimizetime $(FUZZMINIMIZETIME); \
	done

bench: ## print throughput against baselines measured in the same run, allocations and heap
	FP_BENCH=1 $(GO) test -p 1 ./rewrite ./blocklists -run '^TestPerfReport$$' -count=1 -v -timeout 30m
	FP_BENCH=1 $(GO) test ./caddymodule -run '^TestLoadReport(Proxy)?$$' -count=1 -v -timeout 10m

vet:
	$(GO) vet ./...

# The browser tests need Debian's Chromium; installing it needs root (or
# sudo). Without it they skip with a message, except in CI, where they fail.
chromium: ## install Debian's Chromium for the browser tests, when missing
	$(call apt_install,chromium,chromium,the browser tests)

# blocklists' TestListsOracle asks Ghostery's adblocker, installed from the
# npm registry by the test itself, to decide what the lists decide: it
# needs Node.js and npm. Without them it skips with a message, except in CI.
npm: ## install Debian's npm (and Node.js) for the list oracle test, when missing
	$(call apt_install,npm,npm,the list oracle test)

# The 32-bit tests run under Debian's qemu-user (no binfmt set-up: go
# test runs each binary through qemu-arm). Installing it needs root (or
# sudo); without it they skip with a message, except in CI.
qemu: ## install Debian's qemu-user for the 32-bit tests, when missing
	$(call apt_install,qemu-arm,qemu-user,the 32-bit tests)

screenshots: chromium ## write the banner screenshots under docs/
	FP_SCREENSHOTS=1 $(GO) test ./caddymodule -run '^TestBrowserScreenshots$$' -count=1

clean:
	rm -rf bin
