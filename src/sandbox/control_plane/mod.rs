//! A real Kubernetes control plane for the sandbox and the end-to-end tests: the
//! upstream `etcd`, `kube-apiserver` and `kube-controller-manager` as child
//! processes, the way controller-runtime's envtest runs the first two. No
//! scheduler, no kubelet, no nodes: Pods are created and stay `Pending`. The
//! controller manager is what makes deleting a namespace or an owner behave as in a
//! real cluster (see [`controller_manager`]); [`ControlPlaneOptions::controller_manager`]
//! leaves it out for tests that want the bare API server.
//!
//! [`ControlPlane::start`] picks free loopback ports, generates a fresh PKI,
//! starts etcd (data in a temporary directory, `--unsafe-no-fsync`), then the
//! API server, waits for `/readyz`, writes a kubeconfig for an admin client
//! certificate, then starts the controller manager and waits for its `/healthz`.
//! Dropping the handle stops the processes and removes the data; see [`process`]
//! for Ctrl-C, panics and handles kept in statics.

pub(crate) mod assets;
pub(crate) mod controller_manager;
pub(crate) mod kubeconfig;
pub(crate) mod pki;
mod ports;
pub mod process;

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kube::config::{KubeConfigOptions, Kubeconfig};

pub use assets::{AssetsError, KUBE_VERSION, KubeAssets};
use pki::ClusterPki;
pub use ports::free_port;
use process::Supervised;

use crate::sandbox::wait::until;

/// How the control plane is started.
#[derive(Debug, Clone)]
pub struct ControlPlaneOptions {
    /// The binaries; `None` locates them ([`KubeAssets::locate`]).
    pub assets: Option<KubeAssets>,
    /// The API server's port; `None` picks a free one.
    pub api_port: Option<u16>,
    /// How long to wait for each process to become ready before giving up.
    pub start_timeout: Duration,
    /// Extra kube-apiserver flags, after the sandbox's own (the live chart test routes
    /// webhook calls to a container with `--egress-selector-config-file`).
    pub apiserver_args: Vec<String>,
    /// Run kube-controller-manager (namespace deletion, garbage collection,
    /// ServiceAccounts, Deployments). `false` gives the bare API server, as envtest.
    pub controller_manager: bool,
}

impl Default for ControlPlaneOptions {
    fn default() -> Self {
        Self {
            assets: None,
            api_port: None,
            // Seconds on an idle machine; generous for a loaded 2-core CI runner.
            start_timeout: Duration::from_secs(120),
            apiserver_args: Vec::new(),
            controller_manager: true,
        }
    }
}

/// Why the control plane did not come up.
#[derive(Debug, thiserror::Error)]
pub enum ControlPlaneError {
    #[error(transparent)]
    Assets(#[from] AssetsError),
    #[error("generating the sandbox certificates: {0}")]
    Pki(#[from] rcgen::Error),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{process} exited during start-up ({status}); last lines of its log:\n{log_tail}")]
    ExitedEarly {
        process: &'static str,
        status: String,
        log_tail: String,
    },
    #[error(
        "{process} did not become ready within {timeout:?}; last lines of its log:\n{log_tail}"
    )]
    NotReady {
        process: &'static str,
        timeout: Duration,
        log_tail: String,
    },
    #[error("the sandbox kubeconfig is not usable: {0}")]
    Kubeconfig(String),
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ControlPlaneError {
    let context = context.into();
    move |source| ControlPlaneError::Io { context, source }
}

/// Whether the control plane runs kube-controller-manager, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControllerManagerState {
    /// Running; ready this long after it was started.
    Running { ready_in: Duration },
    /// Left out by [`ControlPlaneOptions::controller_manager`].
    LeftOut,
    /// Wanted, but the assets directory (a `KUBEBUILDER_ASSETS` one) has none.
    Missing { dir: PathBuf },
}

impl ControllerManagerState {
    /// One line for the sandbox's banner.
    pub fn describe(&self) -> String {
        match self {
            Self::Running { ready_in } => format!(
                "kube-controller-manager ready in {:.1} s (namespace deletion, garbage collection, ServiceAccounts, Deployments; no nodes: Pods stay Pending)",
                ready_in.as_secs_f64()
            ),
            Self::LeftOut => "kube-controller-manager left out (--no-controller-manager): deleted namespaces stay Terminating, owned objects are not collected".to_string(),
            Self::Missing { dir } => format!(
                "kube-controller-manager not found in KUBEBUILDER_ASSETS={}: running without it, so deleted namespaces stay Terminating and owned objects are not collected; unset KUBEBUILDER_ASSETS to use the binaries of `make kube-assets`",
                dir.display()
            ),
        }
    }
}

/// A running etcd + kube-apiserver (+ kube-controller-manager). Dropping it stops
/// them and removes their data.
pub struct ControlPlane {
    // Field order is drop order: the controller manager stops before the API server,
    // the API server before its etcd.
    controller_manager: Option<Supervised>,
    apiserver: Supervised,
    etcd: Supervised,
    assets: KubeAssets,
    pki: ClusterPki,
    api_port: u16,
    etcd_port: u16,
    kubeconfig_path: PathBuf,
    started_in: Duration,
    controller_manager_state: ControllerManagerState,
    /// What the API server was started with, so it can be started again.
    files: PkiFiles,
    apiserver_args: Vec<String>,
    apiserver_starts: u32,
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane")
            .field("url", &self.url())
            .field("etcd_port", &self.etcd_port)
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

/// How often a start is retried when a randomly chosen port was taken meanwhile.
const PORT_RACE_ATTEMPTS: usize = 3;

impl ControlPlane {
    /// Starts etcd, kube-apiserver and (unless left out) kube-controller-manager, and
    /// waits until each is ready.
    pub async fn start(options: ControlPlaneOptions) -> Result<Self, ControlPlaneError> {
        let assets = match options.assets.clone() {
            Some(assets) => assets,
            None => KubeAssets::locate()?,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Self::start_once(&assets, &options).await {
                Err(ControlPlaneError::ExitedEarly { ref log_tail, .. })
                    if attempt < PORT_RACE_ATTEMPTS
                        && log_tail.contains("address already in use") =>
                {
                    tracing::info!("a sandbox port was taken during start-up; retrying");
                }
                result => return result,
            }
        }
    }

    async fn start_once(
        assets: &KubeAssets,
        options: &ControlPlaneOptions,
    ) -> Result<Self, ControlPlaneError> {
        let began = Instant::now();
        let dir = tempfile::Builder::new()
            .prefix("orglink-sandbox-")
            .tempdir()
            .map_err(io_err("creating the sandbox's temporary directory"))?;
        // Removed at exit too, for control planes held in statics (never dropped).
        process::remove_at_exit(dir.path().to_path_buf());
        let pki = ClusterPki::generate()?;
        let files = PkiFiles::write(dir.path(), &pki)?;

        let etcd_port = free_port()?;
        let etcd_peer_port = free_port()?;
        let etcd = start_etcd(assets, dir.path(), etcd_port, etcd_peer_port)?;
        let mut etcd = wait_for_port(etcd, etcd_port, options.start_timeout).await?;

        let api_port = match options.api_port {
            Some(port) => port,
            None => free_port()?,
        };
        let apiserver = start_apiserver(
            assets,
            dir.path(),
            &files,
            api_port,
            etcd_port,
            &options.apiserver_args,
        )?;

        let kubeconfig_path = dir.path().join("kubeconfig");
        let yaml = kubeconfig::render(&format!("https://127.0.0.1:{api_port}"), &pki);
        std::fs::write(&kubeconfig_path, &yaml).map_err(io_err("writing the kubeconfig"))?;

        let mut control_plane = Self {
            controller_manager: None,
            apiserver,
            etcd: {
                // Surface an etcd that died while the API server was starting.
                etcd.ensure_running()?;
                etcd
            },
            assets: assets.clone(),
            pki,
            api_port,
            etcd_port,
            kubeconfig_path,
            started_in: Duration::ZERO,
            controller_manager_state: ControllerManagerState::LeftOut,
            files,
            apiserver_args: options.apiserver_args.clone(),
            apiserver_starts: 1,
            dir,
        };
        control_plane.wait_ready(options.start_timeout).await?;
        if options.controller_manager {
            control_plane
                .start_controller_manager(options.start_timeout)
                .await?;
        }
        control_plane.started_in = began.elapsed();
        tracing::info!(
            url = %control_plane.url(),
            seconds = control_plane.started_in.as_secs_f64(),
            controller_manager = ?control_plane.controller_manager_state,
            "sandbox control plane ready"
        );
        Ok(control_plane)
    }

    /// Starts kube-controller-manager against the ready API server and waits for it,
    /// or records that the assets have none.
    async fn start_controller_manager(
        &mut self,
        timeout: Duration,
    ) -> Result<(), ControlPlaneError> {
        let files = &self.files;
        let Some(binary) = self.assets.kube_controller_manager() else {
            self.controller_manager_state = ControllerManagerState::Missing {
                dir: self.assets.dir().to_path_buf(),
            };
            tracing::warn!("{}", self.controller_manager_state.describe());
            return Ok(());
        };
        let began = Instant::now();
        let kubeconfig = controller_manager::kubeconfig_path(self.dir.path());
        let yaml = kubeconfig::render_controller_manager(&self.url(), &self.pki);
        std::fs::write(&kubeconfig, yaml)
            .map_err(io_err("writing the controller manager's kubeconfig"))?;
        let port = free_port()?;
        let kcm_files = controller_manager::ControllerManagerFiles {
            kubeconfig: &kubeconfig,
            ca_cert: &files.ca_cert,
            service_account_key: &files.service_account_key,
            serving_cert: &files.controller_manager_serving_cert,
            serving_key: &files.controller_manager_serving_key,
        };
        let mut proc = controller_manager::start(&binary, self.dir.path(), &kcm_files, port)?;
        let client = self.client().await?;
        let ready =
            controller_manager::wait_ready(&mut proc, port, &self.pki.ca_cert, &client, timeout)
                .await;
        // Kept even when not ready, so dropping `self` stops it.
        self.controller_manager = Some(proc);
        ready?;
        self.controller_manager_state = ControllerManagerState::Running {
            ready_in: began.elapsed(),
        };
        Ok(())
    }

    /// Stops kube-apiserver and starts it again on the same port, with the same
    /// certificates, flags and etcd (so every object stays), and waits until it is
    /// ready: an API server restarted under its clients, as in a control-plane upgrade.
    /// Clients keep their kubeconfig; their connections and watches break meanwhile.
    /// Returns how long the API server was away. Its log goes to
    /// `kube-apiserver-N.log` (N counts the starts).
    pub async fn restart_apiserver(
        &mut self,
        timeout: Duration,
    ) -> Result<Duration, ControlPlaneError> {
        let began = Instant::now();
        self.apiserver.stop();
        self.apiserver_starts += 1;
        let log = format!("kube-apiserver-{}.log", self.apiserver_starts);
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.apiserver = start_apiserver_logging_to(
                &self.assets,
                self.dir.path(),
                &self.files,
                self.api_port,
                self.etcd_port,
                &self.apiserver_args,
                &log,
            )?;
            match self.wait_ready(timeout).await {
                // The old process's port may linger a moment after it exited.
                Err(ControlPlaneError::ExitedEarly { ref log_tail, .. })
                    if attempt < PORT_RACE_ATTEMPTS
                        && log_tail.contains("address already in use") =>
                {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                result => {
                    result?;
                    return Ok(began.elapsed());
                }
            }
        }
    }

    /// Polls `/readyz` until it answers `ok`, one of the processes exits, or the
    /// timeout passes.
    async fn wait_ready(&mut self, timeout: Duration) -> Result<(), ControlPlaneError> {
        let client = self.client().await?;
        let (apiserver, etcd) = (&mut self.apiserver, &mut self.etcd);
        let ready = until(timeout, Duration::from_millis(100), async || {
            apiserver.ensure_running()?;
            etcd.ensure_running()?;
            let request = http::Request::get("/readyz")
                .body(Vec::new())
                .expect("static request");
            let probe = tokio::time::timeout(Duration::from_secs(5), client.request_text(request));
            Ok::<_, ControlPlaneError>(
                matches!(probe.await, Ok(Ok(body)) if body.trim() == "ok").then_some(()),
            )
        })
        .await?;
        ready.ok_or_else(|| self.apiserver.not_ready(timeout))
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.api_port)
    }

    pub fn api_port(&self) -> u16 {
        self.api_port
    }

    /// The CA that signed the API server's certificate (PEM).
    pub fn ca_cert_pem(&self) -> &str {
        &self.pki.ca_cert
    }

    /// The admin kubeconfig (inside the temporary directory).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig_path
    }

    /// The admin kubeconfig as YAML.
    pub fn kubeconfig_yaml(&self) -> String {
        kubeconfig::render(&self.url(), &self.pki)
    }

    /// An admin kubeconfig for another `server` in front of this API server (the fault
    /// proxy of [`crate::sandbox::api_faults`]), trusting `ca_pem` for it.
    pub fn kubeconfig_yaml_via(&self, server: &str, ca_pem: &str) -> String {
        kubeconfig::render_via(server, ca_pem, &self.pki)
    }

    /// Writes the admin kubeconfig to `path` (mode 0600: it holds the admin key).
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(self.kubeconfig_yaml().as_bytes())
    }

    /// A kube client configuration for the admin identity.
    pub(crate) async fn kube_config(&self) -> Result<kube::Config, ControlPlaneError> {
        let kubeconfig = Kubeconfig::from_yaml(&self.kubeconfig_yaml())
            .map_err(|e| ControlPlaneError::Kubeconfig(e.to_string()))?;
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|e| ControlPlaneError::Kubeconfig(e.to_string()))
    }

    /// A kube client for the admin identity, bound to the calling tokio runtime.
    pub async fn client(&self) -> Result<kube::Client, ControlPlaneError> {
        crate::runtime::tls::ensure_crypto_provider();
        let config = self.kube_config().await?;
        kube::Client::try_from(config).map_err(|e| ControlPlaneError::Kubeconfig(e.to_string()))
    }

    /// The path of the matching kubectl.
    pub fn kubectl_path(&self) -> PathBuf {
        self.assets.kubectl()
    }

    /// A `kubectl` command already pointed at this control plane.
    pub fn kubectl(&self) -> Command {
        let mut command = Command::new(self.kubectl_path());
        command.arg("--kubeconfig").arg(&self.kubeconfig_path);
        command
    }

    /// PIDs of etcd, kube-apiserver and (when running) kube-controller-manager, in
    /// that order, for checks that nothing is left behind.
    pub fn pids(&self) -> Vec<u32> {
        let mut pids = vec![self.etcd.pid(), self.apiserver.pid()];
        pids.extend(self.controller_manager.as_ref().map(Supervised::pid));
        pids
    }

    /// Time from `start` to a ready control plane (the controller manager included).
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// Whether kube-controller-manager runs, and how fast it became ready.
    pub fn controller_manager(&self) -> &ControllerManagerState {
        &self.controller_manager_state
    }

    /// Where the processes' data and logs are (`etcd.log`, `kube-apiserver.log`,
    /// `kube-controller-manager.log`).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }
}

/// The PKI written to disk for the API server's flags.
struct PkiFiles {
    ca_cert: PathBuf,
    serving_cert: PathBuf,
    serving_key: PathBuf,
    service_account_key: PathBuf,
    service_account_public_key: PathBuf,
    controller_manager_serving_cert: PathBuf,
    controller_manager_serving_key: PathBuf,
}

impl PkiFiles {
    fn write(dir: &Path, pki: &ClusterPki) -> Result<Self, ControlPlaneError> {
        let pki_dir = dir.join("pki");
        std::fs::create_dir_all(&pki_dir).map_err(io_err("creating the PKI directory"))?;
        let write = |name: &str, content: &str| -> Result<PathBuf, ControlPlaneError> {
            let path = pki_dir.join(name);
            std::fs::write(&path, content).map_err(io_err(format!("writing {name}")))?;
            Ok(path)
        };
        Ok(Self {
            ca_cert: write("ca.crt", &pki.ca_cert)?,
            serving_cert: write("apiserver.crt", &pki.serving_cert)?,
            serving_key: write("apiserver.key", &pki.serving_key)?,
            service_account_key: write("sa.key", &pki.service_account_key)?,
            service_account_public_key: write("sa.pub", &pki.service_account_public_key)?,
            controller_manager_serving_cert: write(
                "kube-controller-manager.crt",
                &pki.controller_manager_serving_cert,
            )?,
            controller_manager_serving_key: write(
                "kube-controller-manager.key",
                &pki.controller_manager_serving_key,
            )?,
        })
    }
}

fn start_etcd(
    assets: &KubeAssets,
    dir: &Path,
    client_port: u16,
    peer_port: u16,
) -> Result<Supervised, ControlPlaneError> {
    let client_url = format!("http://127.0.0.1:{client_port}");
    let peer_url = format!("http://127.0.0.1:{peer_port}");
    let mut command = Command::new(assets.etcd());
    command
        .arg("--name=sandbox")
        .arg(format!("--data-dir={}", dir.join("etcd").display()))
        .arg(format!("--listen-client-urls={client_url}"))
        .arg(format!("--advertise-client-urls={client_url}"))
        .arg(format!("--listen-peer-urls={peer_url}"))
        .arg(format!("--initial-advertise-peer-urls={peer_url}"))
        .arg(format!("--initial-cluster=sandbox={peer_url}"))
        // Throw-away data: durability buys nothing and costs seconds per test.
        .arg("--unsafe-no-fsync")
        .arg("--log-level=warn");
    Supervised::spawn("etcd", command, &dir.join("etcd.log"))
        .map_err(io_err(format!("starting {}", assets.etcd().display())))
}

fn start_apiserver(
    assets: &KubeAssets,
    dir: &Path,
    files: &PkiFiles,
    port: u16,
    etcd_port: u16,
    extra_args: &[String],
) -> Result<Supervised, ControlPlaneError> {
    start_apiserver_logging_to(
        assets,
        dir,
        files,
        port,
        etcd_port,
        extra_args,
        "kube-apiserver.log",
    )
}

fn start_apiserver_logging_to(
    assets: &KubeAssets,
    dir: &Path,
    files: &PkiFiles,
    port: u16,
    etcd_port: u16,
    extra_args: &[String],
    log: &str,
) -> Result<Supervised, ControlPlaneError> {
    let mut command = Command::new(assets.kube_apiserver());
    command
        .arg("--advertise-address=127.0.0.1")
        // No nodes or kube-proxy: the `kubernetes` Service needs no endpoints (as envtest).
        .arg("--endpoint-reconciler-type=none")
        .arg("--bind-address=127.0.0.1")
        .arg(format!("--secure-port={port}"))
        .arg(format!("--etcd-servers=http://127.0.0.1:{etcd_port}"))
        .arg(format!(
            "--cert-dir={}",
            dir.join("apiserver-certs").display()
        ))
        .arg(format!("--tls-cert-file={}", files.serving_cert.display()))
        .arg(format!(
            "--tls-private-key-file={}",
            files.serving_key.display()
        ))
        .arg(format!("--client-ca-file={}", files.ca_cert.display()))
        .arg(format!("--service-account-issuer=https://127.0.0.1:{port}"))
        .arg(format!(
            "--service-account-key-file={}",
            files.service_account_public_key.display()
        ))
        .arg(format!(
            "--service-account-signing-key-file={}",
            files.service_account_key.display()
        ))
        .arg("--service-cluster-ip-range=10.0.0.0/24")
        .arg("--authorization-mode=RBAC")
        .arg("--allow-privileged=true")
        .arg("--profiling=false")
        .args(extra_args);
    Supervised::spawn("kube-apiserver", command, &dir.join(log)).map_err(io_err(format!(
        "starting {}",
        assets.kube_apiserver().display()
    )))
}

/// Waits until `port` accepts TCP connections, or the process exits.
async fn wait_for_port(
    mut proc: Supervised,
    port: u16,
    timeout: Duration,
) -> Result<Supervised, ControlPlaneError> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let open = until(timeout, Duration::from_millis(50), async || {
        proc.ensure_running()?;
        Ok::<_, ControlPlaneError>(
            TcpStream::connect_timeout(&addr, Duration::from_millis(200))
                .is_ok()
                .then_some(()),
        )
    })
    .await?;
    match open {
        Some(()) => Ok(proc),
        None => Err(proc.not_ready(timeout)),
    }
}
