//! Plain-text reports of the plugin, built from the objects and the time passed in.
//!
//! What an Organization's status lists is the operator's last read of Genesys Cloud, so
//! every list taken from it says how old that read is ("as of 2 min ago").

use std::fmt::Write;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::api::conditions::{find, types};
use crate::api::text::{clean, clean_name};
use crate::api::{OrgLink, OrgPairing, Organization};

/// How long ago `then` was, in the largest whole unit: `12 s ago`, `2 min ago`,
/// `3 h ago`, `2 d ago`; `just now` under a second (or a little in the future, which
/// clock skew between this machine and the operator's produces).
pub(crate) fn ago(then: Timestamp, now: Timestamp) -> String {
    let seconds = now.as_second() - then.as_second();
    match seconds {
        s if s < 1 => "just now".to_string(),
        s if s < 60 => format!("{s} s ago"),
        s if s < 3_600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3_600),
        s => format!("{} d ago", s / 86_400),
    }
}

/// How old an Organization's view of Genesys Cloud is: `as of 2 min ago`, or
/// `not read yet` before the operator's first successful read.
pub(crate) fn as_of(org: &Organization, now: Timestamp) -> String {
    match observed_at(org) {
        Some(then) => format!("as of {}", ago(then, now)),
        None => "not read yet".to_string(),
    }
}

/// When the view in the Organization's status was read (`status.observedAt`).
pub(crate) fn observed_at(org: &Organization) -> Option<Timestamp> {
    org.status
        .as_ref()
        .and_then(|s| s.observed_at.as_ref())
        .map(|Time(t)| *t)
}

/// How old the views of several Organizations are: `as of 3 s ago` when they agree,
/// `as of 3 s ago to 2 min ago` otherwise, with those not read yet counted.
pub(crate) fn views_as_of(orgs: &[Organization], now: Timestamp) -> String {
    let read: Vec<Timestamp> = orgs.iter().filter_map(observed_at).collect();
    let unread = orgs.len() - read.len();
    let mut parts = Vec::new();
    if let (Some(newest), Some(oldest)) = (read.iter().max(), read.iter().min()) {
        let (newest, oldest) = (ago(*newest, now), ago(*oldest, now));
        parts.push(if newest == oldest {
            format!("as of {newest}")
        } else {
            format!("as of {newest} to {oldest}")
        });
    }
    match unread {
        0 => {}
        n if n == orgs.len() => parts.push("not read yet".to_string()),
        1 => parts.push("1 Organization not read yet".to_string()),
        n => parts.push(format!("{n} Organizations not read yet")),
    }
    parts.join("; ")
}

/// Formats rows as left-aligned columns separated by three spaces, like `kubectl get`.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    // Cells show what Genesys or another tenant wrote: no escape sequence, newline or
    // bidi override reaches the terminal.
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| clean(c).into_owned()).collect())
        .collect();
    let rows = &rows;
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<String>, out: &mut String| {
        let last = cells.len() - 1;
        for (i, c) in cells.into_iter().enumerate() {
            if i == last {
                out.push_str(&c);
            } else {
                let _ = write!(out, "{c:<w$}   ", w = widths[i]);
            }
        }
        out.push('\n');
    };
    line(header.iter().map(|h| h.to_string()).collect(), &mut out);
    for r in rows {
        line(r.clone(), &mut out);
    }
    out
}

/// The value made safe to show (see [`clean_name`]), or `-`.
fn or_dash(s: Option<&str>) -> String {
    s.filter(|s| !s.is_empty())
        .map_or_else(|| "-".to_string(), |s| clean_name(s).into_owned())
}

/// `kubectl orglink status`: each org with its links, pending requests and pairings;
/// the lists read from Genesys Cloud say how old that read is at `now`.
pub fn status(
    orgs: &[Organization],
    links: &[OrgLink],
    pairings: &[OrgPairing],
    now: Timestamp,
) -> String {
    let mut out = String::new();
    if orgs.is_empty() {
        out.push_str("No Organizations found.\n");
        return out;
    }
    for org in orgs {
        let ns = org.metadata.namespace.as_deref().unwrap_or("");
        let name = org.metadata.name.as_deref().unwrap_or("");
        let st = org.status.clone().unwrap_or_default();
        let ready = find(&st.conditions, types::READY)
            .map(|c| format!("{} ({})", clean(&c.status), clean(&c.reason)))
            .unwrap_or_else(|| "Unknown".into());
        let _ = writeln!(
            out,
            "Organization {ns}/{name}: {} [{}] region {} — Ready {ready}",
            or_dash(st.name.as_deref()),
            or_dash(st.organization_id.as_deref()),
            org.spec.region,
        );
        // The lists read from Genesys Cloud carry the read's age; OrgLinks and
        // OrgPairings are the cluster's own objects, current as listed.
        let age = as_of(org, now);
        let remote = |title: &str| format!("{title} ({age})");
        let section = |title: &str, header: &[&str], rows: Vec<Vec<String>>, out: &mut String| {
            let _ = writeln!(out, "  {title}:");
            if rows.is_empty() {
                out.push_str("    (none)\n");
            } else {
                for l in table(header, &rows).lines() {
                    let _ = writeln!(out, "    {l}");
                }
            }
        };
        section(
            &remote("Linked organizations"),
            &["ORG ID", "NAME", "REGION"],
            st.linked_organizations
                .iter()
                .map(|l| {
                    vec![
                        l.organization_id.clone(),
                        or_dash(l.name.as_deref()),
                        or_dash(l.region.as_deref()),
                    ]
                })
                .collect(),
            &mut out,
        );
        section(
            &remote("Pending outgoing (waiting for them)"),
            &["ORG ID", "REGION"],
            st.pending_outgoing_links
                .iter()
                .map(|l| vec![l.organization_id.clone(), or_dash(l.region.as_deref())])
                .collect(),
            &mut out,
        );
        section(
            &remote("Pending incoming (waiting for us)"),
            &["ORG ID", "NAME", "REGION"],
            st.pending_incoming_links
                .iter()
                .map(|l| {
                    vec![
                        l.organization_id.clone(),
                        or_dash(l.name.as_deref()),
                        or_dash(l.region.as_deref()),
                    ]
                })
                .collect(),
            &mut out,
        );
        let in_org = |ref_: &str, obj_ns: Option<&str>| ref_ == name && obj_ns == Some(ns);
        section(
            "OrgLinks",
            &["NAME", "PEER", "DECISION", "PHASE"],
            links
                .iter()
                .filter(|l| in_org(&l.spec.organization_ref, l.metadata.namespace.as_deref()))
                .map(|l| {
                    vec![
                        l.metadata.name.clone().unwrap_or_default(),
                        l.spec.peer.organization_id.clone(),
                        l.spec.decision.as_str().to_string(),
                        l.status
                            .as_ref()
                            .and_then(|s| s.phase)
                            .map(|p| p.as_str().to_string())
                            .unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect(),
            &mut out,
        );
        section(
            "OrgPairings",
            &["NAME", "SIDE", "PEER", "PAIRING", "PHASE"],
            pairings
                .iter()
                .filter(|p| in_org(&p.spec.organization_ref, p.metadata.namespace.as_deref()))
                .map(|p| {
                    let s = p.status.clone().unwrap_or_default();
                    vec![
                        p.metadata.name.clone().unwrap_or_default(),
                        p.spec
                            .side()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_else(|| "-".into()),
                        p.spec.peer.organization_id.clone(),
                        or_dash(
                            s.pairing_id.as_deref().or(p
                                .spec
                                .grant
                                .as_ref()
                                .and_then(|g| g.pairing_id.as_deref())),
                        ),
                        s.phase
                            .map(|p| p.as_str().to_string())
                            .unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect(),
            &mut out,
        );
        section(
            &remote("Trustees (have access to us)"),
            &["ORG ID", "NAME", "ENABLED"],
            st.trustees
                .iter()
                .map(|t| {
                    vec![
                        t.organization_id.clone(),
                        or_dash(t.name.as_deref()),
                        t.enabled.to_string(),
                    ]
                })
                .collect(),
            &mut out,
        );
        section(
            &remote("Trustors (we have access to them)"),
            &["ORG ID", "NAME", "ENABLED"],
            st.trustors
                .iter()
                .map(|t| {
                    vec![
                        t.organization_id.clone(),
                        or_dash(t.name.as_deref()),
                        t.enabled.to_string(),
                    ]
                })
                .collect(),
            &mut out,
        );
        out.push('\n');
    }
    out
}

/// `kubectl orglink pending`: incoming link requests waiting for our answer, each with
/// how old the view listing it is at `now` and the command that approves it.
pub fn pending(orgs: &[Organization], now: Timestamp) -> String {
    let rows: Vec<Vec<String>> = orgs
        .iter()
        .flat_map(|org| {
            let ns = org.metadata.namespace.clone().unwrap_or_default();
            let name = org.metadata.name.clone().unwrap_or_default();
            let age = observed_at(org).map_or_else(|| "-".to_string(), |t| ago(t, now));
            org.status
                .iter()
                .flat_map(|s| s.pending_incoming_links.clone())
                .map(move |p| {
                    vec![
                        ns.clone(),
                        name.clone(),
                        p.organization_id.clone(),
                        or_dash(p.name.as_deref()),
                        or_dash(p.region.as_deref()),
                        age.clone(),
                        format!(
                            "kubectl orglink approve {} --org {name} -n {ns}",
                            p.organization_id
                        ),
                    ]
                })
        })
        .collect();
    if orgs.is_empty() {
        return "No incoming link requests are waiting (no Organizations found).\n".to_string();
    }
    if rows.is_empty() {
        return format!(
            "No incoming link requests are waiting ({}).\n",
            views_as_of(orgs, now)
        );
    }
    table(
        &[
            "NAMESPACE",
            "ORGANIZATION",
            "FROM ORG ID",
            "FROM NAME",
            "REGION",
            "AS OF",
            "TO APPROVE",
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::OrganizationStatus;
    use crate::api::organization::{LinkedOrganization, PendingLink};

    fn org() -> Organization {
        let mut o = Organization::sample("acme-prod", "team-acme");
        o.status = Some(OrganizationStatus {
            organization_id: Some("3f1c2a9e-5b7d-4e2a-9c41-7a0d2b6e8f10".into()),
            name: Some("Acme Prod".into()),
            linked_organizations: vec![LinkedOrganization {
                unmanaged: false,
                organization_id: "0b6c4a1e-2d3f-4a5b-8c7d-9e0f1a2b3c4d".into(),
                name: Some("Acme DR".into()),
                region: Some("us-east-1".into()),
            }],
            pending_incoming_links: vec![PendingLink {
                unmanaged: false,
                organization_id: "96fe284b-6172-47f7-bd08-b439e763686c".into(),
                name: Some("MSP Prod".into()),
                region: Some("us-east-1".into()),
            }],
            ..Default::default()
        });
        o
    }

    /// 2026-12-02T10:00:00Z, the tests' "now".
    fn now() -> Timestamp {
        "2026-12-02T10:00:00Z".parse().unwrap()
    }

    fn read(org: &mut Organization, seconds_before_now: i64) {
        let at = now() - k8s_openapi::jiff::SignedDuration::from_secs(seconds_before_now);
        org.status.as_mut().unwrap().observed_at = Some(Time(at));
    }

    #[test]
    fn status_lists_links_with_id_name_and_region() {
        let mut o = org();
        read(&mut o, 150);
        let s = status(&[o], &[], &[], now());
        assert!(
            s.contains("Organization team-acme/acme-prod: Acme Prod"),
            "{s}"
        );
        assert!(
            s.contains("0b6c4a1e-2d3f-4a5b-8c7d-9e0f1a2b3c4d   Acme DR   us-east-1"),
            "{s}"
        );
        assert!(
            s.contains("Pending outgoing (waiting for them) (as of 2 min ago):\n    (none)"),
            "{s}"
        );
        assert!(s.contains("MSP Prod"), "{s}");
    }

    /// Names written by Genesys or a peer cannot drive the terminal.
    #[test]
    fn hostile_names_and_ids_reach_the_terminal_without_control_characters() {
        let mut o = org();
        let st = o.status.as_mut().unwrap();
        st.name = Some("Acme\u{1b}]0;owned\u{7}\u{1b}[2J".into());
        st.linked_organizations[0].name = Some("line\nforged   row\r".into());
        st.pending_incoming_links[0].organization_id = "id\u{202e}gnp.exe\u{1b}[31m".into();
        for out in [status(&[o.clone()], &[], &[], now()), pending(&[o], now())] {
            let shown: String = out.chars().filter(|c| *c != '\n').collect();
            assert!(
                !shown.chars().any(|c| c.is_control() || c == '\u{202e}'),
                "{out:?}"
            );
        }
        let s = status(&[org()], &[], &[], now());
        assert!(!s.contains('\u{FFFD}'), "ordinary names are unchanged: {s}");
    }

    #[test]
    fn every_list_read_from_genesys_says_how_old_it_is() {
        let mut o = org();
        read(&mut o, 7);
        let s = status(&[o], &[], &[], now());
        for title in [
            "Linked organizations",
            "Pending outgoing (waiting for them)",
            "Pending incoming (waiting for us)",
            "Trustees (have access to us)",
            "Trustors (we have access to them)",
        ] {
            assert!(
                s.contains(&format!("{title} (as of 7 s ago):")),
                "{title}: {s}"
            );
        }
        // The cluster's own objects are current as listed.
        assert!(s.contains("  OrgLinks:\n"), "{s}");
        let unread = status(&[org()], &[], &[], now());
        assert!(
            unread.contains("Linked organizations (not read yet):"),
            "{unread}"
        );
    }

    #[test]
    fn ages_use_the_largest_whole_unit() {
        let t = |seconds: i64| {
            ago(
                now() - k8s_openapi::jiff::SignedDuration::from_secs(seconds),
                now(),
            )
        };
        let rows = [
            (-30, "just now"),
            (0, "just now"),
            (1, "1 s ago"),
            (59, "59 s ago"),
            (60, "1 min ago"),
            (150, "2 min ago"),
            (3_599, "59 min ago"),
            (3_600, "1 h ago"),
            (86_399, "23 h ago"),
            (86_400 * 3, "3 d ago"),
        ];
        for (seconds, want) in rows {
            assert_eq!(t(seconds), want, "{seconds} s");
        }
    }

    #[test]
    fn pending_shows_how_to_approve_and_how_old_the_view_is() {
        let mut o = org();
        read(&mut o, 12);
        let p = pending(std::slice::from_ref(&o), now());
        assert!(p.contains("kubectl orglink approve 96fe284b-6172-47f7-bd08-b439e763686c --org acme-prod -n team-acme"), "{p}");
        assert!(p.contains("AS OF"), "{p}");
        assert!(
            p.contains("us-east-1   12 s ago   kubectl orglink approve"),
            "{p}"
        );
        assert_eq!(
            pending(&[], now()),
            "No incoming link requests are waiting (no Organizations found).\n"
        );
        o.status.as_mut().unwrap().pending_incoming_links.clear();
        assert_eq!(
            pending(std::slice::from_ref(&o), now()),
            "No incoming link requests are waiting (as of 12 s ago).\n"
        );
        let mut older = o.clone();
        read(&mut older, 180);
        let mut unread = o.clone();
        unread.status.as_mut().unwrap().observed_at = None;
        assert_eq!(
            pending(&[o.clone(), older, unread.clone()], now()),
            "No incoming link requests are waiting (as of 12 s ago to 3 min ago; 1 Organization not read yet).\n"
        );
        assert_eq!(
            pending(&[unread], now()),
            "No incoming link requests are waiting (not read yet).\n"
        );
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&["A", "LONGER"], &[vec!["xxxx".into(), "y".into()]]);
        assert_eq!(t, "A      LONGER\nxxxx   y\n");
    }
}
