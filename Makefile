# siemscore — build, test, benchmark and demo.
#
#   make demo    the main job on an embedded default: no server needed
#   make test    every test, against a real Elasticsearch this Makefile starts and stops
#
# Other targets: build, plugin, cli, bench, bench-fluentbit, fuzz, lint, parity, asn-table, es-start, es-stop, clean.

GO        ?= go
BIN       ?= bin
OUT       ?= out
FUZZTIME  ?= 20000x
BENCHTIME ?= 1s
BENCHCOUNT ?= 5
ES         = elastic/estest/es.sh

.PHONY: all build plugin cli demo test test-unit bench bench-fluentbit fuzz lint parity asn-table es-start es-stop clean

all: build

build: plugin cli

# The Fluent Bit output plugin. Never name it flb-*.so: Fluent Bit treats that prefix as a C plugin.
plugin:
	$(GO) build -buildmode=c-shared -o $(BIN)/out_siemscore.so ./plugin

cli:
	$(GO) build -o $(BIN)/siemscore ./cmd/siemscore

demo:
	$(GO) run ./cmd/siemscore demo --out $(OUT)/demo

# Starts the real Elasticsearch (or uses $$ES_URL), runs every test, and stops the server even when
# tests fail. SIEMSCORE_REQUIRE_ES=1 turns "no Elasticsearch" into a failure instead of a skip.
# ES_URL is deliberately not exported for our own server: elastic/estest finds it through
# es.sh's run/url and only then may stop and restart it for the outage tests.
test: lint asn-table
	@$(ES) start
	@SIEMSCORE_REQUIRE_ES=1 $(GO) test -count=1 -timeout 60m ./... ; \
	  rc=$$?; $(ES) stop; exit $$rc

# Unit tests only: integration tests skip without a server.
test-unit: asn-table
	$(GO) test ./...

bench: asn-table
	@$(ES) start
	@$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -count $(BENCHCOUNT) ./... ; \
	  rc=$$?; $(ES) stop; exit $$rc

# The plugin's figure of record (README, Performance): the real Fluent Bit 5.1.1 from
# ../shared/tools/fluent-bit (or $$SIEMSCORE_FLUENT_BIT) ships the same generated input with the
# native es output and with siemscore into a counting bulk sink, FLUENTBIT_ROUNDS interleaved
# rounds, then once each into the real Elasticsearch. Skips with a message without Fluent Bit.
FLUENTBIT_ROUNDS ?= 5
# The rounds against the bulk sink run before Elasticsearch starts: its JVM, idle or not, took
# CPU from both sides of a round, and more from the side that runs more threads at once. Then
# the run of each side into the real Elasticsearch, for the record.
bench-fluentbit:
	@$(GO) test -v -run '^$$' -bench '^BenchmarkFluentBit$$' -benchtime 1x -timeout 120m ./plugin/plugintest/ \
	  -args -fluentbit.rounds $(FLUENTBIT_ROUNDS)
	@ES_FULL_JIT=1 $(ES) start
	@$(GO) test -v -run '^$$' -bench '^BenchmarkFluentBit$$' -benchtime 1x -timeout 120m ./plugin/plugintest/ \
	  -args -fluentbit.rounds 0 ; \
	  rc=$$?; $(ES) stop; exit $$rc

# Runs every fuzz target for FUZZTIME (go test -fuzz accepts one target per package per run):
# a number of executions by default, because a duration can make Go 1.26 fail a clean run with
# "context deadline exceeded" (go.dev/issue/75804). Long runs may use a duration (FUZZTIME=10m)
# and rerun on that message when no crasher was written.
# Packages are those with a Fuzz function in a test file; one whose tests do not build fails
# the run rather than hiding its targets.
fuzz:
	@set -e; for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  targets=$$($(GO) test -list '^Fuzz' $$dir) || { echo "$$dir: cannot list its fuzz targets"; exit 1; }; \
	  for t in $$(echo "$$targets" | grep '^Fuzz'); do \
	    echo "== $$dir $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$dir; \
	  done; done

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Recomputes the reference numbers the parity tests compare the Go models with: Go writes the
# inputs, the Python script beside them in testdata/parity computes the reference
# (scikit-learn k-means for models/kmeans, pandas autocorrelation for models/periodicity) into
# the committed JSON, and the parity tests then run against it. Python comes from PyPI into a
# throwaway virtualenv, pinned to the versions the recorded results were made with
# (models/kmeans/testdata/parity/RESULTS.md, models/periodicity/testdata/parity/).
PARITY_VENV ?= $(OUT)/parity-venv
PARITY_PYPI  = scikit-learn==1.9.1 numpy==2.4.6 scipy==1.17.1 pandas==3.1.1

# The virtualenv is rebuilt when this Makefile (its package list) changes.
$(PARITY_VENV)/.installed: Makefile
	rm -rf $(PARITY_VENV)
	python3 -m venv $(PARITY_VENV)
	$(PARITY_VENV)/bin/pip install --quiet $(PARITY_PYPI)
	touch $@

parity: $(PARITY_VENV)/.installed
	$(GO) test -count=1 -run TestDatasetsAreCurrent ./models/kmeans -update
	$(PARITY_VENV)/bin/python models/kmeans/testdata/parity/sklearn_parity.py
	$(GO) test -count=1 -run TestSeriesFileIsCurrent ./models/periodicity -update
	$(PARITY_VENV)/bin/python models/periodicity/testdata/parity/autocorr.py
	$(GO) test -count=1 -run 'Parity|Scikit|Pandas|Current' ./models/kmeans ./models/periodicity

# The real IP-to-ASN ranges (npm @ip-location-db/asn, CC BY 4.0) that the geo/ASN enrichment's
# and the IP scenarios' tests use go to .cache/npm, which git ignores; without npm those tests
# skip or run their synthetic variant, and say so.
asn-table:
	@testdata/install-asn.sh

es-start:
	@$(ES) start

es-stop:
	@$(ES) stop

clean:
	rm -rf $(BIN) $(OUT)
