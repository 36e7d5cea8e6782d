//! Datetimes of the Genesys models on the wire (`#[serde(with = "super::wire_time")]`).
//! A time beyond jiff's range (years ±9,999; Genesys or a hostile peer may send
//! anything) saturates at its ends instead of failing the whole answer, and never
//! collapses to 1970 (which would make a far-future pairing look long expired).

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serializer};

pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.collect_str(t),
        None => s.serialize_none(),
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|text| parse(&text).map_err(serde::de::Error::custom))
        .transpose()
}

/// `text` as a timestamp; a well-formed time whose year has more than four digits
/// saturates at [`Timestamp::MAX`] (or [`Timestamp::MIN`] before year 0).
pub fn parse(text: &str) -> Result<Timestamp, jiff::Error> {
    text.parse::<Timestamp>().or_else(|error| {
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let year_digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let date_follows = rest.as_bytes().get(year_digits) == Some(&b'-');
        match (year_digits > 4 && date_follows, negative) {
            (true, true) => Ok(Timestamp::MIN),
            (true, false) => Ok(Timestamp::MAX),
            (false, _) => Err(error),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_beyond_jiffs_range_saturate_and_garbage_is_refused() {
        assert_eq!(parse("+200000-01-01T00:00:00Z").unwrap(), Timestamp::MAX);
        assert_eq!(parse("-200000-01-01T00:00:00Z").unwrap(), Timestamp::MIN);
        assert_eq!(
            parse("2026-03-01T10:00:00.5Z").unwrap().to_string(),
            "2026-03-01T10:00:00.5Z"
        );
        assert!(parse("tomorrow").is_err());
        assert!(parse("123456").is_err());
        let far: crate::genesys::models::TrustRequest = serde_json::from_value(serde_json::json!({
            "id": "p1", "dateCreated": "+262143-12-31T23:59:59Z"
        }))
        .unwrap();
        assert_eq!(far.date_created, Some(Timestamp::MAX));
    }
}
