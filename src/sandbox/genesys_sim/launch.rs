//! Starting the simulator for `orglink-operator sandbox`: pick the seed, start the server,
//! and publish its URL in `DIR/genesys-url` for scripts and tests.

use std::path::{Path, PathBuf};

use super::seed::{DEFAULT_SEED_PATH, SeedError, default_seed, load_seed_file};
use super::{GenesysSim, SimConfig, SimHandle, SimStartError};

/// The file in the sandbox directory that holds the simulator's root URL.
pub(crate) const URL_FILE: &str = "genesys-url";

/// Why the sandbox's simulator did not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LaunchError {
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error(transparent)]
    Start(#[from] SimStartError),
    #[error("cannot write {path}: {source}")]
    WriteUrl {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where the orgs come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SeedSource {
    /// A seed file the user named (`--genesys-orgs FILE`); it must exist.
    File(PathBuf),
    /// `examples/sandbox/genesys-orgs.yaml` when run from the repository, else the copy
    /// compiled into the binary.
    Default,
}

impl SeedSource {
    /// `Some(path)` → that file, `None` → the default.
    pub(crate) fn from_flag(path: Option<PathBuf>) -> Self {
        path.map_or(SeedSource::Default, SeedSource::File)
    }

    /// The validated orgs and a description of where they came from.
    pub(crate) fn load(&self) -> Result<(SimConfig, String), SeedError> {
        match self {
            SeedSource::File(path) => Ok((
                SimConfig::new(load_seed_file(path)?),
                path.display().to_string(),
            )),
            SeedSource::Default if Path::new(DEFAULT_SEED_PATH).is_file() => Ok((
                SimConfig::new(load_seed_file(Path::new(DEFAULT_SEED_PATH))?),
                DEFAULT_SEED_PATH.to_string(),
            )),
            SeedSource::Default => Ok((
                SimConfig::new(default_seed()),
                format!("built-in copy of {DEFAULT_SEED_PATH}"),
            )),
        }
    }
}

/// Starts the simulator with the orgs of `seed` and writes its URL to `dir/genesys-url`.
pub(crate) async fn start_for_sandbox(
    dir: &Path,
    seed: &SeedSource,
) -> Result<SimHandle, LaunchError> {
    let (config, origin) = seed.load()?;
    let handle = GenesysSim::start(config).await?;
    let path = dir.join(URL_FILE);
    std::fs::write(&path, format!("{}\n", handle.url()))
        .map_err(|source| LaunchError::WriteUrl { path, source })?;
    tracing::info!(url = handle.url(), seed = %origin, "simulated Genesys Cloud started");
    Ok(handle)
}

/// Human-readable lines about the running simulator, for the sandbox's banner.
pub(crate) fn describe(handle: &SimHandle) -> Vec<String> {
    let mut lines = vec![format!("Simulated Genesys Cloud: {}", handle.url())];
    for org in handle.orgs() {
        lines.push(format!(
            "  {:<16} {}  {:<14} apiBaseUrl {}",
            org.name,
            org.id,
            org.region,
            handle.region_url(org.region)
        ));
    }
    lines.push(format!(
        "  admin: {0}/_sim/stats, {0}/_sim/faults, {0}/_sim/clock, {0}/_sim/rate-limit",
        handle.url()
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_the_url_file_and_describes_the_orgs() {
        let dir = tempfile::tempdir().unwrap();
        let handle = start_for_sandbox(dir.path(), &SeedSource::Default)
            .await
            .unwrap();
        let written = std::fs::read_to_string(dir.path().join(URL_FILE)).unwrap();
        assert_eq!(written.trim(), handle.url());
        let lines = describe(&handle);
        assert!(lines[0].contains(handle.url()));
        assert!(lines.iter().any(|l| l.contains("Acme Prod")));
        assert!(
            !lines
                .iter()
                .any(|l| l.contains(handle.orgs()[0].client_secret.expose()))
        );
    }

    #[test]
    fn a_named_seed_file_must_exist_and_be_valid() {
        let err = SeedSource::from_flag(Some("/nonexistent/orgs.yaml".into()))
            .load()
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/orgs.yaml"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orgs.yaml");
        std::fs::write(
            &path,
            "- id: nope\n  name: X\n  region: us-east-1\n  clientId: a\n  clientSecret: b\n",
        )
        .unwrap();
        let err = SeedSource::File(path).load().unwrap_err().to_string();
        assert!(err.contains("field `id`"), "{err}");
    }

    #[test]
    fn the_default_seed_loads_from_anywhere() {
        let (config, origin) = SeedSource::Default.load().unwrap();
        assert!(config.orgs.len() >= 4);
        assert!(origin.contains(DEFAULT_SEED_PATH));
    }
}
