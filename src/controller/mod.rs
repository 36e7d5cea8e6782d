//! TODO(owner): module controller.
