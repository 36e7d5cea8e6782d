//! The `orglink.dev/v1alpha1` resource types, their conditions and the regions table. No I/O.

pub mod regions;

pub use regions::Region;

/// Placeholder until the CRD types land (replaced in the foundation work).
pub fn crds_yaml() -> anyhow::Result<String> {
    Ok(String::new())
}
