//! TODO(owner): module sandbox.
