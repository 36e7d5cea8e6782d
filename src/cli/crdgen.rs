//! `orglink-operator crdgen`: print the CRDs; `crds/orglink-crds.yaml` is exactly this output.

/// Prints all CRDs to stdout.
pub(crate) fn run() -> anyhow::Result<()> {
    print!("{}", crate::api::crds_yaml()?);
    Ok(())
}
