//! TODO(owner): module webhook.
