//! Log setup: `tracing` to stderr, human-readable or JSON (`--log-format json`), level
//! from `RUST_LOG` (default `info`).

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Installs the global subscriber at level `info` unless `RUST_LOG` says otherwise; a
/// second call is a no-op.
pub(crate) fn init(format: LogFormat) {
    init_with_default(format, "info");
}

/// As [`init`], with another default level (the sandbox keeps its banner readable).
pub(crate) fn init_with_default(format: LogFormat, default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
