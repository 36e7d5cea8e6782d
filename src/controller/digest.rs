//! Fixed-size stand-ins for keys the controllers would otherwise keep as strings, one
//! per object or per Event (issue 14, footprint): 16 bytes whatever the key's length.
//!
//! Two hashes of the key, with keys drawn at random for the process: no one who names
//! objects or writes notes can aim at another key's digest, and two keys sharing one by
//! chance (odds about 2^-128) cost only a miscount where they are used, never an action.

use std::hash::{BuildHasher, Hash, RandomState};

/// The digest of one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Digest(u64, u64);

/// Digests keys, the same digest for the same key for as long as it lives.
pub(crate) struct Digester(RandomState, RandomState);

impl Digester {
    pub(crate) fn new() -> Self {
        Self(RandomState::new(), RandomState::new())
    }

    pub(crate) fn of<T: Hash + ?Sized>(&self, key: &T) -> Digest {
        Digest(self.0.hash_one(key), self.1.hash_one(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_key_has_the_same_digest_and_another_key_another() {
        let digester = Digester::new();
        assert_eq!(
            digester.of(&("OrgLink", "a/b")),
            digester.of(&("OrgLink", "a/b"))
        );
        assert_ne!(
            digester.of(&("OrgLink", "a/b")),
            digester.of(&("OrgLink", "a/c"))
        );
        assert_ne!(
            digester.of(&("OrgLink", "a/b")),
            digester.of(&("OrgPairing", "a/b"))
        );
    }

    #[test]
    fn two_digesters_disagree_so_no_one_can_aim_at_a_digest() {
        assert_ne!(Digester::new().of("x"), Digester::new().of("x"));
    }
}
