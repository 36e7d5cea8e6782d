//! TODO(owner): module genesys.
