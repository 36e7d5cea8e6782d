//! The Genesys Cloud Platform API client the operator uses (genesys-api.md).
//!
//! | module | holds |
//! |---|---|
//! | [`models`] | the JSON models with their exact wire names |

pub mod models;
