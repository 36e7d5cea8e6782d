//! The `orglink.dev/v1alpha1` resource types.
pub fn crds_yaml() -> anyhow::Result<String> { Ok(String::new()) }
