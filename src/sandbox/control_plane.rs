//! The envtest-style control plane launcher (owned by the control-plane work).
