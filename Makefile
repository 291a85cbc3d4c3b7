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

DB ?= crmflow.db

run: build
	@./$(BUILD)/crmflow version
	@./$(BUILD)/crmflow deploy --db $(DB) ../shared/models/*.bpmn
	@./$(BUILD)/crmflow token delete --db $(DB) make-run 2>/dev/null || true
	@echo "admin API token (send 'Authorization: Bearer TOKEN'; a new one each make run):"
	@./$(BUILD)/crmflow token create --db $(DB) --name make-run --role admin 2>/dev/null
	@echo "API: http://127.0.0.1:8080/v2/ (docs/api.md); metrics: http://127.0.0.1:8080/metrics"
	@exec ./$(BUILD)/crmflow serve --db $(DB)

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
