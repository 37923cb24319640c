# Ensemble: `make up` runs the stack, `make test` runs every test. Both install what
# they need first (`make setup`: librdkafka >= 2.1 and the embedded broker).

SWIFT ?= swift

.PHONY: setup build up up-release test api-check bench-kafka compare clean

setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build --product ensemble

# One embedded broker: 1 partition per topic measured fastest, consumers catching up in
# group-committed batches (Docs/performance.md).
up: build
	KAFKA_TOPIC_PARTITIONS=$${KAFKA_TOPIC_PARTITIONS:-1} .build/debug/ensemble up

# The same stack from a release build, for benchmarks.
up-release: setup
	$(SWIFT) build -c release --product ensemble
	KAFKA_TOPIC_PARTITIONS=$${KAFKA_TOPIC_PARTITIONS:-1} .build/release/ensemble up

test: setup
	@bash scripts/test.sh

# schemathesis (--checks all) against every service's /openapi.yaml on a stack of its own
# (also the last step of `make test`).
api-check: setup
	$(SWIFT) build --product ensemble
	@bash scripts/api-check.sh

# librdkafka's C performance tool and `ensemble bench kafka` on one broker, side by side.
bench-kafka: setup
	$(SWIFT) build -c release --product ensemble
	@bash scripts/bench-kafka.sh

# The same workload orchestrated and choreographed on a release stack of its own;
# writes Docs/comparison.md (tables, latency chart, reading).
compare: setup
	$(SWIFT) build -c release --product ensemble
	@bash scripts/compare.sh

clean:
	rm -rf .build .ensemble/data
