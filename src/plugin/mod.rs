//! The `kubectl orglink` plugin: what admins of Genesys Cloud voice links need to see
//! and do, on top of the three resources. The pure parts (rendering, building objects)
//! live here and are unit tested; `src/bin/kubectl-orglink.rs` only does I/O.

pub mod audit;
pub mod build;
pub mod export;
pub mod refresh;
pub mod render;
