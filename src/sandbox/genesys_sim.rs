//! The simulated Genesys Cloud (owned by the simulator work).
