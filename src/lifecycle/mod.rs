//! TODO(owner): module lifecycle.
