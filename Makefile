# Thin wrappers: CI calls the same targets a person types. See README.md.
.PHONY: deny chaos cluster-bench cluster cluster-stop cluster-test bench bench-ab fuzz run test lint fmt openapi openapi-check schema schema-check stop db-status ci

run:            ## serve the API with demo data (private PostgreSQL unless DATABASE_URL is set)
	@scripts/dev.sh run

test:           ## the whole test suite against real PostgreSQL
	@scripts/dev.sh test

lint:           ## formatting, clippy, and the crate layering
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	@scripts/test-layers.sh

deny:           ## cargo-deny: advisories (offline RustSec snapshot), licences, duplicate versions, sources
	@scripts/deny.sh

fmt:
	cargo fmt --all

openapi:        ## regenerate openapi/openapi.json from the code
	cargo run -q -p filmlog -- openapi > openapi/openapi.json

openapi-check:  ## fail when openapi/openapi.json differs from what the code generates
	@cargo run -q -p filmlog -- openapi | diff -u openapi/openapi.json - && echo "openapi.json is up to date"

schema:         ## regenerate crates/persistence/src/schema.rs from the migrations
	@scripts/dev.sh schema

schema-check:   ## fail when schema.rs differs from what the migrations produce
	@scripts/dev.sh schema-check

cluster:        ## HAProxy, two API instances, PostgreSQL primary + standby (pg_auto_failover), Redis
	cargo build --release -p filmlog
	@scripts/cluster.sh start

cluster-stop:   ## stop what `make cluster` started (its data is kept)
	@scripts/cluster.sh stop

cluster-test:   ## the cluster's guarantees under faults (standby reads, read-your-writes, failover)
	cargo build --release -p filmlog
	@scripts/cluster-test.sh

cluster-bench:  ## read-heavy load: 1 instance + primary against 2 instances + primary + standby
	cargo build --release -p filmlog
	@scripts/cluster-bench.sh $(BENCH_ARGS)

chaos:          ## one node: PostgreSQL killed and restarted under a write load (0 lost, 503 + Retry-After)
	cargo build --release -p filmlog
	@scripts/chaos.sh

bench:          ## API against SQL twins on the medium data set; writes bench/results/<date>.*
	@scripts/bench.sh $(BENCH_ARGS)

bench-ab:       ## this build against a release (BASE=b8f67ee): every scenario on both, interleaved; bench/results/<date>-ab.*
	@BASE=$(BASE) scripts/bench-ab.sh $(BENCH_ARGS)

fuzz:           ## schemathesis against a running `make run` server: no 5xx, responses match the spec
	@scripts/fuzz.sh

stop:           ## stop the private PostgreSQL cluster
	@scripts/pg.sh stop

db-status:
	@scripts/pg.sh status

ci:
	bash .ci/run
