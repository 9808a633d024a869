# Cohort's front door: `make help` lists the targets. Dependencies come from Debian's packages
# (scripts/install-deps.sh, which needs root to install what is missing).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PORT ?= 8080
BIN := build/release/cohort

.PHONY: help build run test tsan bench-http bench-events clean

help:
	@echo "make build        install dependencies, build the optimised binary (build/release/cohort)"
	@echo "make run          build, fill ./data with demo data (once), train the models, serve on port $(PORT) (PORT=...)"
	@echo "make test         build with ASan+UBSan and -Werror, start the test services (PostgreSQL, Redis, RabbitMQ,"
	@echo "                 the MongoDB test peer), run every test, stop them"
	@echo "make tsan         build with ThreadSanitizer and run the unit tests"
	@echo "make bench-http   HTTP load test of Cohort against nginx serving a fixed answer (bench/http/README.md)"
	@echo "make bench-events event ingestion against the backends' own load rate (bench/events/README.md)"
	@echo "make clean        remove build/ (data/ is kept)"
	@echo "make help         this list"

build:
	scripts/install-deps.sh
	cmake --preset release
	cmake --build --preset release

run: build
	@set -euo pipefail; \
	bin=$(BIN); \
	mkdir -p data; \
	echo "$$bin demo --data-dir data"; \
	"$$bin" demo --data-dir data; \
	echo "$$bin train --data-dir data"; \
	"$$bin" train --data-dir data; \
	auth=""; \
	if [[ -n "$${COHORT_API_KEYS:-}" ]]; then auth=" -H 'Authorization: Bearer $${COHORT_API_KEYS%%:*}'"; fi; \
	echo; \
	echo "Cohort serves ./data on http://127.0.0.1:$(PORT) (Ctrl-C stops it). Try:"; \
	echo "  curl -s$$auth 'http://127.0.0.1:$(PORT)/api/users?limit=3'"; \
	echo "  curl -s$$auth http://127.0.0.1:$(PORT)/api/analytics/users-by-country"; \
	echo "  curl -s$$auth http://127.0.0.1:$(PORT)/api/users/u000001"; \
	echo "  curl -s$$auth http://127.0.0.1:$(PORT)/api/users/u000001/personalized-recommendations"; \
	echo "  curl -s$$auth 'http://127.0.0.1:$(PORT)/api/users/u000001/personalized-recommendations?limit=5&explain=true'"; \
	echo "  curl -s$$auth http://127.0.0.1:$(PORT)/api/users/u000001/insights"; \
	echo "  curl -s$$auth http://127.0.0.1:$(PORT)/api/analytics/segments"; \
	echo; \
	exec "$$bin" serve --data-dir data --port $(PORT)

# One shell for the whole recipe, so that the test services are stopped however it ends (failure, Ctrl-C).
test:
	@set -uo pipefail; \
	summary() { echo; echo "make test: $$1"; }; \
	if ! scripts/install-deps.sh; then summary "FAILED (installing dependencies)"; exit 1; fi; \
	if ! { COHORT_WERROR=ON cmake --preset dev && cmake --build --preset dev; }; then \
	  summary "FAILED (build)"; exit 1; \
	fi; \
	trap 'scripts/test-services.sh stop' EXIT; \
	trap 'summary "INTERRUPTED"; exit 130' INT TERM; \
	if ! scripts/test-services.sh start; then summary "FAILED (starting the test services)"; exit 1; fi; \
	if ! service_env=$$(scripts/test-services.sh env); then summary "FAILED (test services)"; exit 1; fi; \
	eval "$$service_env"; \
	status=0; \
	ctest --preset dev --output-on-failure -j2 || status=$$?; \
	trap - EXIT; \
	scripts/test-services.sh stop || true; \
	if [[ $$status -eq 0 ]]; then summary "PASSED"; else summary "FAILED (ctest exit status $$status)"; fi; \
	exit $$status

tsan:
	scripts/install-deps.sh
	cmake --preset tsan
	cmake --build --preset tsan
	ctest --preset tsan -L unit

bench-http:
	scripts/install-deps.sh --bench
	bench/http/run.sh

bench-events: ; bench/events/run.sh  # event ingestion vs the backends' own load rate (bench/events/README.md)

clean:
	rm -rf build
