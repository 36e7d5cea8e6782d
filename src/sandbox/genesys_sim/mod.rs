//! A simulated Genesys Cloud (work in progress).

pub mod clock;
pub mod error;
pub mod seed;
pub mod state;
