//! The embedded sandbox: a real control plane (etcd + kube-apiserver) and a simulated
//! Genesys Cloud, for the demo and the end-to-end tests.

pub mod api_faults;
pub mod control_plane;
pub mod crds;
pub mod genesys_sim;
pub mod wait;
pub mod webhook;

pub use control_plane::{
    ControlPlane, ControlPlaneError, ControlPlaneOptions, ControllerManagerState,
};
