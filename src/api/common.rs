//! Field types shared by the three kinds.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use super::Region;

/// A canonical, lower-case UUID (8-4-4-4-12 hex digits): the form Genesys Cloud uses for
/// organization, user, group and role IDs. Upper case is refused rather than folded so the
/// ID in a manifest is byte-for-byte the one the API returns, and comparisons stay exact.
pub(crate) const UUID_PATTERN: &str =
    "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

/// An email address as Genesys Cloud users carry it: one `@` with something on either
/// side and no spaces. Deliverability is not the schema's business; the lookup reports
/// an address that matches no user.
pub const EMAIL_PATTERN: &str = "^[^@\\s]+@[^@\\s]+$";

/// True when `s` has the shape of [`EMAIL_PATTERN`].
pub fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// True when `s` is a canonical lower-case UUID (the same rule as [`UUID_PATTERN`]).
pub(crate) fn is_canonical_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
}

/// The other organization of a relationship: its ID and the region it lives in.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeerRef {
    /// The peer's Genesys Cloud organization ID (Admin > Organization Settings), a
    /// canonical lower-case UUID.
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub organization_id: String,
    /// The Genesys Cloud region the peer organization is hosted in.
    pub region: Region,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uuid_accepts_lower_case_only() {
        assert!(is_canonical_uuid("96fe284b-6172-47f7-bd08-b439e763686c"));
        assert!(!is_canonical_uuid("96FE284B-6172-47F7-BD08-B439E763686C"));
        assert!(!is_canonical_uuid("96fe284b617247f7bd08b439e763686c"));
        assert!(!is_canonical_uuid("96fe284b-6172-47f7-bd08-b439e763686"));
        assert!(!is_canonical_uuid("96fe284b-6172-47f7-bd08-b439e763686g"));
        let re = regex::Regex::new(UUID_PATTERN).unwrap();
        for s in [
            "96fe284b-6172-47f7-bd08-b439e763686c",
            "96FE284B-6172-47F7-BD08-B439E763686C",
            "x",
        ] {
            assert_eq!(re.is_match(s), is_canonical_uuid(s), "{s}");
        }
    }
}
