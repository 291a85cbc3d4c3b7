# The two commands of the README: `make run` and `make test`.
# Every package the build needs is installed by scripts/deps.sh.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 20

.PHONY: all deps build run test test-unit test-asan test-fuzz bench clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@bash scripts/web.sh

DB ?= crmflow.db

# make run: a fresh database ($(DB)) with the sample models and the four CRM scenarios of examples/crm
# loaded (models, groups and users, triggers, sample records, whose import starts processes), then
# `crmflow serve` on 127.0.0.1:8080 with the built-in workers: mail to $(SMTP), HTTP calls to
# $(ALLOW_HOSTS). Ctrl-C stops it.
SMTP ?= smtp://127.0.0.1:2525
ALLOW_HOSTS ?= 127.0.0.1,localhost
run: build
	@./$(BUILD)/crmflow version
	@bash examples/crm/load.sh ./$(BUILD)/crmflow $(DB)
	@echo "API: http://127.0.0.1:8080/v2/ (docs/api.md); records: /v2/crm/records/TYPE (docs/crm.md);"
	@echo "metrics: http://127.0.0.1:8080/metrics; mail goes to $(SMTP); the demo: examples/crm/demo.sh"
	@exec ./$(BUILD)/crmflow serve --db $(DB) --smtp $(SMTP) --allow-hosts $(ALLOW_HOSTS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory test-fuzz

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCF_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) -L unit

test-fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCF_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@bash tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: build
	@bash bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
