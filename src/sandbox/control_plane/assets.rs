//! Where the sandbox finds `etcd`, `kube-apiserver`, `kube-controller-manager` and
//! `kubectl`.
//!
//! The envtest convention first: `KUBEBUILDER_ASSETS` names a directory holding
//! the binaries (what `setup-envtest use -p path` prints), so users who already
//! have them point at it and nothing is built. envtest's directories hold no
//! `kube-controller-manager`; the sandbox then runs without one (and says so).
//! Otherwise the directory that `scripts/kube-assets.sh` fills (`make kube-assets`,
//! which `make demo` and `make test` run first), where all four are required.

use std::path::{Path, PathBuf};

/// The Kubernetes release the project builds and tests against (k8s-openapi's
/// `latest` feature is v1_37).
pub const KUBE_VERSION: &str = "v1.37.2";

/// The directory of the control-plane binaries.
#[derive(Debug, Clone)]
pub struct KubeAssets {
    dir: PathBuf,
}

/// The binaries could not be found.
#[derive(Debug, thiserror::Error)]
pub enum AssetsError {
    #[error(
        "KUBEBUILDER_ASSETS={dir} has no executable `{binary}`; point it at a directory with etcd and kube-apiserver (kubectl and kube-controller-manager too, if you have them), or unset it to use the binaries built by `make kube-assets`"
    )]
    IncompleteKubebuilderAssets { dir: String, binary: &'static str },
    #[error(
        "the sandbox's Kubernetes binaries are not built yet: {dir} has no executable `{binary}`. Run `make kube-assets` (builds etcd, kube-apiserver, kube-controller-manager and kubectl {version} from their Go modules, once), or set KUBEBUILDER_ASSETS to a directory that holds them"
    )]
    NotBuilt {
        dir: String,
        binary: &'static str,
        version: &'static str,
    },
}

impl KubeAssets {
    /// Finds the binaries: `KUBEBUILDER_ASSETS`, then `ORGLINK_KUBE_ASSETS_DIR`,
    /// then the build script's default cache directory.
    pub fn locate() -> Result<Self, AssetsError> {
        if let Some(dir) = std::env::var_os("KUBEBUILDER_ASSETS").filter(|d| !d.is_empty()) {
            let assets = Self { dir: dir.into() };
            for binary in ["etcd", "kube-apiserver"] {
                if !is_executable(&assets.dir.join(binary)) {
                    return Err(AssetsError::IncompleteKubebuilderAssets {
                        dir: assets.dir.display().to_string(),
                        binary,
                    });
                }
            }
            return Ok(assets);
        }
        let assets = Self { dir: default_dir() };
        for binary in [
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kubectl",
        ] {
            if !is_executable(&assets.dir.join(binary)) {
                return Err(AssetsError::NotBuilt {
                    dir: assets.dir.display().to_string(),
                    binary,
                    version: KUBE_VERSION,
                });
            }
        }
        Ok(assets)
    }

    /// Uses the binaries of `dir` without checking them.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn etcd(&self) -> PathBuf {
        self.dir.join("etcd")
    }

    pub(crate) fn kube_apiserver(&self) -> PathBuf {
        self.dir.join("kube-apiserver")
    }

    /// The controller manager, when the directory holds one (a `KUBEBUILDER_ASSETS`
    /// directory from setup-envtest does not).
    pub(crate) fn kube_controller_manager(&self) -> Option<PathBuf> {
        let path = self.dir.join("kube-controller-manager");
        is_executable(&path).then_some(path)
    }

    /// The matching kubectl; under `KUBEBUILDER_ASSETS` without one, the first
    /// `kubectl` on `PATH`.
    pub fn kubectl(&self) -> PathBuf {
        let own = self.dir.join("kubectl");
        if is_executable(&own) {
            return own;
        }
        PathBuf::from("kubectl")
    }
}

/// `$ORGLINK_KUBE_ASSETS_DIR`, else `${XDG_CACHE_HOME:-~/.cache}/orglink/kube-assets/<version>`,
/// the same rule as `scripts/kube-assets.sh`.
pub(crate) fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ORGLINK_KUBE_ASSETS_DIR").filter(|d| !d.is_empty()) {
        return dir.into();
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("orglink").join("kube-assets").join(KUBE_VERSION)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
