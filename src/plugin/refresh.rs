//! Asking the operator for a fresh view before showing one: the pure parts of
//! `kubectl orglink pending|status|approve` without `--no-refresh`.
//!
//! The plugin sets the Organization annotation `orglink.dev/refresh` to a new value (the
//! current time) and waits until `status.lastHandledRefresh` shows that the operator
//! read the org after it. Another user may overwrite the annotation while we wait; the
//! operator then answers the later value, whose read also started after ours was set, so
//! any annotation value seen after ours counts as an answer too.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use super::render;
use crate::api::conditions::{find, types};
use crate::api::{Organization, REFRESH_ANNOTATION};

/// A new annotation value: the time of the request (RFC 3339, nanoseconds), so values
/// never repeat and say when they were asked.
pub fn request_value(now: Timestamp) -> String {
    now.to_string()
}

/// The merge patch that asks for a refresh with `value`.
pub fn request_patch(value: &str) -> serde_json::Value {
    serde_json::json!({ "metadata": { "annotations": { REFRESH_ANNOTATION: value } } })
}

/// Waits for one Organization's answer to one refresh request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiter {
    mine: String,
    /// Annotation values seen since ours was set (ours included).
    answers: BTreeSet<String>,
}

impl Waiter {
    pub fn new(mine: &str) -> Self {
        Waiter {
            mine: mine.to_string(),
            answers: BTreeSet::from([mine.to_string()]),
        }
    }

    /// Looks at the Organization as read now: true once the operator has recorded our
    /// value, or one set after it, as handled.
    pub fn answered(&mut self, org: &Organization) -> bool {
        if let Some(current) = org
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REFRESH_ANNOTATION))
        {
            self.answers.insert(current.clone());
        }
        org.status
            .as_ref()
            .and_then(|s| s.last_handled_refresh.as_ref())
            .is_some_and(|handled| self.answers.contains(handled))
    }

    pub fn value(&self) -> &str {
        &self.mine
    }
}

fn key(org: &Organization) -> String {
    format!(
        "{}/{}",
        org.metadata.namespace.as_deref().unwrap_or_default(),
        org.metadata.name.as_deref().unwrap_or_default()
    )
}

/// What to tell the user when the operator did not answer in time.
pub fn timeout_message(
    org: &Organization,
    value: &str,
    waited: Duration,
    now: Timestamp,
) -> String {
    format!(
        "Organization {} did not record the refresh asked at {value} within {}s (status.lastHandledRefresh); is the operator running? `kubectl describe organization {} -n {}` shows its Events. Showing its view {}.",
        key(org),
        waited.as_secs(),
        org.metadata.name.as_deref().unwrap_or_default(),
        org.metadata.namespace.as_deref().unwrap_or_default(),
        render::as_of(org, now)
    )
}

/// What to tell the user when the refresh was answered but the read failed (`Ready`
/// is not True): the reason, and how old the view shown is.
pub fn failed_read_message(org: &Organization, now: Timestamp) -> Option<String> {
    let status = org.status.as_ref()?;
    let ready = find(&status.conditions, types::READY)?;
    (ready.status != "True").then(|| {
        format!(
            "Organization {} could not read Genesys Cloud ({}: {}). Showing its view {}.",
            key(org),
            ready.reason,
            ready.message,
            render::as_of(org, now)
        )
    })
}

/// What to tell the user when the refresh could not even be asked for.
pub fn not_asked_message(org: &Organization, error: &str, now: Timestamp) -> String {
    format!(
        "cannot ask Organization {} for a refresh ({error}); showing its view {} (use --no-refresh to skip asking)",
        key(org),
        render::as_of(org, now)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::OrganizationStatus;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    fn now() -> Timestamp {
        "2026-12-02T10:00:00Z".parse().unwrap()
    }

    fn org(annotation: Option<&str>, handled: Option<&str>) -> Organization {
        let mut o = Organization::sample("acme-prod", "team-acme");
        o.metadata.annotations =
            annotation.map(|a| [(REFRESH_ANNOTATION.to_string(), a.to_string())].into());
        o.status = Some(OrganizationStatus {
            last_handled_refresh: handled.map(str::to_string),
            observed_at: Some(Time(
                now() - k8s_openapi::jiff::SignedDuration::from_secs(190),
            )),
            ..Default::default()
        });
        o
    }

    #[test]
    fn the_request_is_a_new_timestamp_in_an_annotation_patch() {
        let value = request_value("2026-12-02T10:00:00.123456789Z".parse().unwrap());
        assert_eq!(value, "2026-12-02T10:00:00.123456789Z");
        assert_eq!(
            request_patch(&value),
            serde_json::json!({"metadata": {"annotations": {"orglink.dev/refresh": value}}})
        );
    }

    #[test]
    fn answered_by_our_value_or_by_one_set_after_it() {
        let mut w = Waiter::new("mine");
        assert!(!w.answered(&org(Some("mine"), Some("earlier"))));
        assert!(w.answered(&org(Some("mine"), Some("mine"))));

        // Someone else's later request overwrote ours and was answered.
        let mut w = Waiter::new("mine");
        assert!(!w.answered(&org(Some("theirs"), Some("earlier"))));
        assert!(w.answered(&org(Some("theirs"), Some("theirs"))));

        // A value handled that we never saw after ours is an older answer.
        let mut w = Waiter::new("mine");
        assert!(!w.answered(&org(Some("mine"), Some("before-mine"))));
        assert!(!w.answered(&org(None, None)));
        assert_eq!(w.value(), "mine");
    }

    #[test]
    fn messages_name_the_org_the_wait_and_the_age_of_the_view() {
        let o = org(Some("v"), None);
        let m = timeout_message(&o, "v", Duration::from_secs(20), now());
        assert!(m.contains("team-acme/acme-prod"), "{m}");
        assert!(m.contains("within 20s"), "{m}");
        assert!(m.contains("status.lastHandledRefresh"), "{m}");
        assert!(m.contains("as of 3 min ago"), "{m}");
        let m = not_asked_message(&o, "forbidden", now());
        assert!(m.contains("forbidden") && m.contains("--no-refresh"), "{m}");
        assert!(m.contains("as of 3 min ago"), "{m}");

        let mut failed = org(Some("v"), Some("v"));
        assert_eq!(failed_read_message(&failed, now()), None);
        failed.status.as_mut().unwrap().conditions = vec![Condition {
            type_: "Ready".into(),
            status: "False".into(),
            reason: "RateLimited".into(),
            message: "Genesys Cloud is rate limiting this org".into(),
            observed_generation: None,
            last_transition_time: Time(now()),
        }];
        let m = failed_read_message(&failed, now()).unwrap();
        assert!(
            m.contains("RateLimited") && m.contains("as of 3 min ago"),
            "{m}"
        );
    }
}
