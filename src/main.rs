use clap::Parser;

/// jemalloc rather than glibc's malloc: a controller's heap is many small, long-lived
/// objects (the caches) churned by short-lived ones (each reconcile's requests and
/// responses), and glibc's arenas keep more of what the churn frees. Measured on the
/// shipped binary with the `memory` bench (10,000 OrgLinks, alternating runs): peak RSS
/// about 6 MiB lower, 8-10 MiB less held after convergence. The library and the tests
/// keep the system allocator, and so does the binary built with `--features
/// system-allocator`: heaptrack sees only malloc.
#[cfg(all(unix, not(feature = "system-allocator")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> anyhow::Result<()> {
    let cli = orglink_operator::cli::Cli::parse();
    orglink_operator::cli::main(cli)
}
