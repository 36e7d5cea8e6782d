//! `orglink-operator sandbox` as a user runs it: the binary, the README's kubectl steps
//! on the examples, and Ctrl-C leaving nothing behind.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use orglink_operator::sandbox::control_plane::KubeAssets;
use orglink_operator::sandbox::control_plane::process::is_running;

struct Sandbox {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Sandbox {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_orglink-operator"))
        .arg("sandbox")
        .arg("--state-dir")
        .arg(dir.path())
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            eprintln!("sandbox| {line}");
            if line.starts_with("Press Ctrl-C") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(180))
        .expect("the sandbox did not print its banner");
    Sandbox { child, dir }
}

fn kubectl(dir: &Path, args: &[&str]) -> String {
    let assets = KubeAssets::locate().expect("kube assets (make kube-assets)");
    let out = Command::new(assets.kubectl())
        .arg("--kubeconfig")
        .arg(dir.join("kubeconfig"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "kubectl {args:?} failed: {}{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn children(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().nth(1))
            .and_then(|s| s.parse::<u32>().ok());
        if ppid == Some(pid) {
            found.push(p);
        }
    }
    found
}

#[test]
fn the_readme_walkthrough_on_the_examples_then_ctrl_c_cleans_up() {
    let mut sandbox = start(&["--with-organizations"]);
    let dir = sandbox.dir.path().to_path_buf();
    let pid = sandbox.child.id();
    let kids = children(pid);
    assert!(
        kids.len() >= 2,
        "etcd and kube-apiserver run as children: {kids:?}"
    );

    kubectl(
        &dir,
        &[
            "wait",
            "--for=condition=Ready",
            "--timeout=120s",
            "-n",
            "acme-prod",
            "gcorg/acme-prod",
        ],
    );
    kubectl(
        &dir,
        &[
            "wait",
            "--for=condition=Ready",
            "--timeout=120s",
            "-n",
            "acme-dr",
            "gcorg/acme-dr",
        ],
    );
    kubectl(
        &dir,
        &[
            "wait",
            "--for=condition=Ready",
            "--timeout=120s",
            "-n",
            "msp-prod",
            "gcorg/msp-prod",
        ],
    );
    kubectl(&dir, &["apply", "-f", "examples/link-request/"]);
    kubectl(&dir, &["apply", "-f", "examples/link-approve/"]);
    kubectl(
        &dir,
        &[
            "wait",
            "--for=condition=Linked",
            "--timeout=120s",
            "-n",
            "acme-prod",
            "olink/to-acme-dr",
        ],
    );
    kubectl(
        &dir,
        &[
            "wait",
            "--for=condition=Linked",
            "--timeout=120s",
            "-n",
            "acme-dr",
            "olink/from-acme-prod",
        ],
    );
    let table = kubectl(&dir, &["get", "olink", "-A"]);
    assert_eq!(table.matches("Linked").count(), 2, "{table}");

    kubectl(&dir, &["apply", "-f", "examples/pairing-request/"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    let pairing_id = loop {
        let id = kubectl(
            &dir,
            &[
                "get",
                "opair",
                "-n",
                "msp-prod",
                "support-into-acme",
                "-o",
                "jsonpath={.status.pairingId}",
            ],
        );
        if !id.trim().is_empty() {
            break id.trim().to_string();
        }
        assert!(Instant::now() < deadline, "no pairing ID");
        std::thread::sleep(Duration::from_millis(200));
    };
    let grant = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pairing-grant/orgpairing.yaml"),
    )
    .unwrap()
    .replace("replace-with-the-pairing-id", &pairing_id);
    let grant_file = dir.join("grant.yaml");
    std::fs::write(&grant_file, grant).unwrap();
    kubectl(&dir, &["apply", "-f", grant_file.to_str().unwrap()]);
    kubectl(
        &dir,
        &[
            "wait",
            "--for=condition=Authorized",
            "--timeout=120s",
            "-n",
            "acme-prod",
            "opair/msp-support",
        ],
    );
    kubectl(
        &dir,
        &[
            "wait",
            "--for=condition=RolesAssigned",
            "--timeout=120s",
            "-n",
            "acme-prod",
            "opair/msp-support",
        ],
    );
    kubectl(
        &dir,
        &[
            "wait",
            "--for=condition=Authorized",
            "--timeout=120s",
            "-n",
            "msp-prod",
            "opair/support-into-acme",
        ],
    );

    // Ctrl-C: everything the sandbox started stops.
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGINT);
    }
    let status = sandbox.child.wait().unwrap();
    assert!(status.success(), "sandbox exit: {status}");
    for kid in kids {
        assert!(!is_running(kid), "process {kid} outlived the sandbox");
    }
}
