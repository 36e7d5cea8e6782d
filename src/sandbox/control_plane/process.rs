//! Child processes that never outlive the sandbox.
//!
//! Three mechanisms, because each covers a way of ending the others miss:
//! - `Drop` stops a process (SIGTERM, then SIGKILL after a grace period) when its
//!   handle goes away, the normal path for the CLI and for scoped tests;
//! - a process-wide registry emptied by an `atexit` hook, for handles kept in a
//!   `static` (one control plane per test binary), which Rust never drops; the
//!   test harness returns from `main` normally even when tests panic, so the hook
//!   runs;
//! - `PR_SET_PDEATHSIG`, so the kernel kills the children if this process dies
//!   without running any code (SIGKILL, SIGTERM's default action, abort). The signal
//!   is SIGKILL: a kube-apiserver sent SIGTERM after its etcd went too drains its
//!   requests for minutes, and a sandbox's data is temporary, so there is nothing to
//!   shut down gracefully for. The kernel ties that signal to the *thread* that
//!   forked, so every child is forked from one spawner thread that lives as long as
//!   the process.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use super::ControlPlaneError;

/// How long a process gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A running child process whose output goes to a log file.
pub struct Supervised {
    name: &'static str,
    child: Child,
    log_path: PathBuf,
}

impl Supervised {
    /// Starts `command` with stdout and stderr appended to `log_path`.
    pub fn spawn(name: &'static str, mut command: Command, log_path: &Path) -> io::Result<Self> {
        let log = File::create(log_path)?;
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let parent = std::process::id();
        // SAFETY: the closure runs between fork and exec and only makes
        // async-signal-safe calls (prctl, getppid, _exit).
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if libc::getppid() as u32 != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let child = spawn_from_long_lived_thread(command)?;
        registry().lock().unwrap().insert(child.id(), name);
        ensure_exit_hook();
        Ok(Self {
            name,
            child,
            log_path: log_path.to_path_buf(),
        })
    }

    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, if the process has already ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last `lines` lines of the process's output, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log_path, lines)
    }

    /// `ExitedEarly` with the end of its log once the process has ended, so a readiness
    /// wait stops at once instead of running out its timeout.
    pub(crate) fn ensure_running(&mut self) -> Result<(), ControlPlaneError> {
        match self.exited() {
            None => Ok(()),
            Some(status) => Err(ControlPlaneError::ExitedEarly {
                process: self.name,
                status: status.to_string(),
                log_tail: self.log_tail(30),
            }),
        }
    }

    /// `NotReady` naming this process, with the end of its log.
    pub(crate) fn not_ready(&self, timeout: Duration) -> ControlPlaneError {
        ControlPlaneError::NotReady {
            process: self.name,
            timeout,
            log_tail: self.log_tail(30),
        }
    }

    /// Stops the process: SIGTERM, then SIGKILL if it has not exited in time.
    pub(crate) fn stop(&mut self) {
        if self.exited().is_none() {
            signal(self.child.id(), libc::SIGTERM);
            let deadline = Instant::now() + STOP_GRACE;
            while self.exited().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if self.exited().is_none() {
                tracing::warn!(process = self.name, "did not stop on SIGTERM; killing it");
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        registry().lock().unwrap().remove(&self.child.id());
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads the last `lines` lines of a log file (at most its last 64 KiB).
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) with a PID we spawned and still own (not yet reaped).
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// PIDs of live children by name, for the exit hook.
fn registry() -> &'static Mutex<BTreeMap<u32, &'static str>> {
    static LIVE: OnceLock<Mutex<BTreeMap<u32, &'static str>>> = OnceLock::new();
    LIVE.get_or_init(Default::default)
}

/// Directories removed by the exit hook (data of control planes held in statics).
pub(crate) fn remove_at_exit(path: PathBuf) {
    cleanup_dirs().lock().unwrap().push(path);
    ensure_exit_hook();
}

fn cleanup_dirs() -> &'static Mutex<Vec<PathBuf>> {
    static DIRS: OnceLock<Mutex<Vec<PathBuf>>> = OnceLock::new();
    DIRS.get_or_init(Default::default)
}

fn ensure_exit_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: registering a plain `extern "C" fn` with atexit(3).
        unsafe {
            libc::atexit(stop_all_at_exit);
        }
    });
}

extern "C" fn stop_all_at_exit() {
    let live: Vec<u32> = match registry().try_lock() {
        Ok(live) => live.keys().copied().collect(),
        Err(_) => return,
    };
    for &pid in &live {
        signal(pid, libc::SIGTERM);
    }
    let deadline = Instant::now() + STOP_GRACE;
    for &pid in &live {
        let mut reaped = false;
        loop {
            let mut status = 0;
            // SAFETY: waitpid on our own child; WNOHANG never blocks.
            let result = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG) };
            if result != 0 {
                reaped = true;
                break;
            }
            if Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if !reaped {
            signal(pid, libc::SIGKILL);
            // Reap it, so it is gone (not merely signalled) when this process exits.
            let mut status = 0;
            // SAFETY: blocking waitpid on our own child, which SIGKILL has ended.
            unsafe {
                libc::waitpid(pid as libc::pid_t, &mut status, 0);
            }
        }
    }
    if let Ok(dirs) = cleanup_dirs().try_lock() {
        for dir in dirs.iter() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// Forks every child from one thread that never ends (see the module docs).
fn spawn_from_long_lived_thread(command: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let sender = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("sandbox-spawner".into())
            .spawn(move || {
                for (mut command, reply) in rx {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("starting the sandbox spawner thread");
        Mutex::new(tx)
    });
    let (reply, answer) = mpsc::channel();
    sender
        .lock()
        .unwrap()
        .send((command, reply))
        .map_err(|_| io::Error::other("sandbox spawner thread is gone"))?;
    answer
        .recv()
        .map_err(|_| io::Error::other("sandbox spawner thread is gone"))?
}

/// Whether a process with this PID exists (and is not a zombie of ours).
pub fn is_running(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
    match stat {
        // Field 3 (after the parenthesised command name) is the state; Z = zombie.
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_ends_the_process_and_keeps_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sleep.log");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo started; exec sleep 600"]);
        let proc = Supervised::spawn("sleep", cmd, &log).unwrap();
        let pid = proc.pid();
        assert!(is_running(pid));
        let deadline = Instant::now() + Duration::from_secs(30);
        while proc.log_tail(5).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(proc.log_tail(5), "started");
        drop(proc);
        assert!(!is_running(pid), "process {pid} still running after drop");
    }

    #[test]
    fn tail_returns_only_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, "a\nb\nc\nd\n").unwrap();
        assert_eq!(tail(&path, 2), "c\nd");
        assert_eq!(tail(&dir.path().join("missing"), 2), "");
    }
}
