# orglink-operator: the two commands a new user needs are `make demo` and `make test`.
# Everything the tests need is built or installed by scripts/ (pinned, cached under
# ~/.cache/orglink): a machine with Rust, Go and access to the registries is enough.

.PHONY: demo test tools kube-assets image lint crds bench-memory

## demo: the sandbox (real kube-apiserver + simulated Genesys Cloud + the operator) runs
## the link and pairing handshakes and prints them as they converge.
demo: kube-assets
	cargo run --release -- sandbox --demo

## tools: helm for the chart tests, built once from its Go module (the version pinned in
## tools/helm/go.mod) into ~/.cache/orglink/helm; the tests find it with scripts/helm.sh.
## Also the kstatus printer (tools/kstatus, on the sigs.k8s.io/cli-utils pinned there) that
## tests/gitops_health.rs runs, into ~/.cache/orglink/kstatus (scripts/kstatus.sh).
tools:
	@scripts/helm.sh >/dev/null
	@scripts/kstatus.sh >/dev/null

## kube-assets: etcd, kube-apiserver, kube-controller-manager and kubectl for the sandbox,
## built once from their Go modules into ~/.cache/orglink/kube-assets (skipped when KUBEBUILDER_ASSETS is set).
kube-assets:
	@scripts/kube-assets.sh >/dev/null

## image: the operator's container image (FROM scratch, no sandbox, UID 65532), tagged
## orglink-operator:<Cargo.toml version>, with podman and no registry (scripts/image.sh).
image:
	@scripts/image.sh >/dev/null

## test: build what the tests need if missing (helm, the Kubernetes binaries, the image:
## tests/chart_live.rs runs the operator from it), then run every test. Every target
## (benchmarks included) is built; the benchmarks run only with `cargo bench`.
test: tools kube-assets image
	cargo test --all-targets --no-run
	cargo test

## bench-memory: the `memory` benchmark on the shipped binary (`make image` builds it), the
## one issue 14's footprint target is about; `cargo bench --bench memory` alone measures
## this build's binary, which carries the sandbox and is not the one a cluster runs.
bench-memory: kube-assets image
	ORGLINK_BENCH_OPERATOR="$${CARGO_TARGET_DIR:-$$PWD/target}/image/rootfs/usr/local/bin/orglink-operator" cargo bench --bench memory

## lint: formatting, clippy (also of the build without the sandbox, the image's) and no
## unused dependencies (cargo-machete, pinned in scripts/machete.sh), as CI checks them.
lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --no-default-features --lib --bins -- -D warnings
	"$$(scripts/machete.sh)"

## crds: regenerate crds/ from the Rust types.
crds:
	cargo run -q -- crdgen > crds/orglink-crds.yaml
	cp crds/orglink-crds.yaml charts/orglink-operator/crds/orglink-crds.yaml
