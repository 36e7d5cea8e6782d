//! What the hostile-input tests share: the canary client secret that must never come
//! back out, and a capture of everything the test binary traces to search it for.

use std::io::Write;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

/// The client secret every hostile client uses: it must never come back out.
pub const CANARY: &str = "CANARY-5f3a9c1e-7b2d-4e60-a8f1-do-not-leak";

/// Everything traced in this test binary from the first call on, at the levels of
/// `filter` (an `EnvFilter` directive). The first call installs the subscriber.
pub fn logs(filter: &str) -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(move || Capture(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber per binary");
        buffer
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
