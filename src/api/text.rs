//! Limits on the text the operator writes, and the cleaning of text others chose.
//!
//! The API server refuses an Event whose `note` passes 1 KiB and a condition whose
//! `message` passes 32 KiB; a refused write would lose the whole status or Event, so
//! text is cut to fit ([`truncate`]), on a character boundary, marked with `…`.
//!
//! Names that come from a peer org or from Genesys Cloud (org, user and group names)
//! reach terminals (the `kubectl orglink` plugin, `kubectl get`) and log lines: control
//! characters (ANSI escapes, carriage returns, newlines that forge log lines) and the
//! bidirectional-override characters that reorder what a terminal shows are replaced
//! with `�` by [`clean_name`] before they are stored or shown.

use std::borrow::Cow;

/// The most bytes of an Event `note` the API server accepts (events.k8s.io/v1).
pub(crate) const EVENT_NOTE_MAX_BYTES: usize = 1024;

/// The most bytes of a condition `message` the API server accepts (metav1.Condition).
pub(crate) const CONDITION_MESSAGE_MAX_BYTES: usize = 32 * 1024;

/// The most bytes of a peer-supplied name kept (Genesys names are far shorter).
pub(crate) const NAME_MAX_BYTES: usize = 256;

/// Marks text that was cut.
const ELLIPSIS: char = '…';

/// `text` cut to at most `max_bytes` bytes of UTF-8, ending with `…` when cut. Never
/// splits a character.
pub(crate) fn truncate(text: &str, max_bytes: usize) -> Cow<'_, str> {
    if text.len() <= max_bytes {
        return Cow::Borrowed(text);
    }
    let marked = max_bytes >= ELLIPSIS.len_utf8();
    let room = if marked {
        max_bytes - ELLIPSIS.len_utf8()
    } else {
        max_bytes
    };
    let mut end = room;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = String::with_capacity(end + ELLIPSIS.len_utf8());
    cut.push_str(&text[..end]);
    if marked {
        cut.push(ELLIPSIS);
    }
    Cow::Owned(cut)
}

/// True for characters that must not reach a terminal or a log line from a peer:
/// C0 and C1 controls (ESC, CR, LF, DEL, …), bidirectional embeddings, overrides and
/// isolates, and the line and paragraph separators.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}'
            | '\u{061C}' | '\u{2028}' | '\u{2029}')
}

/// `text` with unsafe characters (see [`is_unsafe`]) replaced with `�`, for one cell
/// or line of terminal output.
pub fn clean(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_unsafe) {
        Cow::Owned(
            text.chars()
                .map(|c| if is_unsafe(c) { '\u{FFFD}' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

/// A peer-supplied name made safe to show: [`clean`], then cut to [`NAME_MAX_BYTES`].
pub(crate) fn clean_name(name: &str) -> Cow<'_, str> {
    match clean(name) {
        Cow::Borrowed(b) => truncate(b, NAME_MAX_BYTES),
        Cow::Owned(o) => Cow::Owned(truncate(&o, NAME_MAX_BYTES).into_owned()),
    }
}

/// [`clean_name`] for an optional name, owned.
pub(crate) fn clean_opt(name: Option<&str>) -> Option<String> {
    name.map(|n| clean_name(n).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_text_is_unchanged() {
        assert_eq!(truncate("hello", 5), "hello");
        assert!(matches!(truncate("hello", 5), Cow::Borrowed(_)));
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary_with_an_ellipsis() {
        // "é" is 2 bytes: 10 of them are 20 bytes.
        let t = "é".repeat(10);
        let cut = truncate(&t, 8);
        assert!(cut.len() <= 8, "{cut}");
        assert_eq!(cut, "éé…"); // 4 + 3 bytes
        let emoji = "🦀".repeat(300); // 4 bytes each
        let cut = truncate(&emoji, EVENT_NOTE_MAX_BYTES);
        assert!(cut.len() <= EVENT_NOTE_MAX_BYTES);
        assert!(cut.ends_with('…'));
        assert_eq!(truncate("abcdef", 0), "");
        assert_eq!(truncate("abcdef", 2), "ab");
    }

    #[test]
    fn names_lose_escapes_newlines_and_bidi_overrides() {
        assert_eq!(clean_name("Acme Prod"), "Acme Prod");
        assert_eq!(
            clean_name("evil\u{1b}[2J\u{1b}]0;pwned\u{7}\nINFO forged"),
            "evil�[2J�]0;pwned��INFO forged"
        );
        assert_eq!(clean_name("abc\u{202E}fed"), "abc�fed");
        assert_eq!(clean_name("tab\there\r"), "tab�here�");
        assert_eq!(clean_name("\u{9b}31m"), "�31m", "C1 CSI");
        assert!(clean_name(&"x".repeat(10_000)).len() <= NAME_MAX_BYTES);
        assert_eq!(clean_opt(Some("a\nb")), Some("a�b".to_string()));
    }

    proptest! {
        #[test]
        fn truncation_fits_and_keeps_a_prefix(text in "\\PC{0,300}", max in 0usize..400) {
            let cut = truncate(&text, max);
            prop_assert!(cut.len() <= max);
            let kept = cut.trim_end_matches('…');
            prop_assert!(text.starts_with(kept));
        }

        #[test]
        fn cleaned_names_have_no_unsafe_characters(name in any::<String>()) {
            let cleaned = clean_name(&name);
            prop_assert!(!cleaned.chars().any(is_unsafe));
            prop_assert!(cleaned.len() <= NAME_MAX_BYTES);
        }
    }
}
