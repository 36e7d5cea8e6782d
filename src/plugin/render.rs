//! Plain-text reports of the plugin, built from the objects alone.

use std::fmt::Write;

use crate::api::conditions::{find, types};
use crate::api::text::{clean, clean_name};
use crate::api::{OrgLink, OrgPairing, Organization};

/// Formats rows as left-aligned columns separated by three spaces, like `kubectl get`.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
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

/// `kubectl orglink status`: each org with its links, pending requests and pairings.
pub fn status(orgs: &[Organization], links: &[OrgLink], pairings: &[OrgPairing]) -> String {
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
            "Linked organizations",
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
            "Pending outgoing (waiting for them)",
            &["ORG ID", "REGION"],
            st.pending_outgoing_links
                .iter()
                .map(|l| vec![l.organization_id.clone(), or_dash(l.region.as_deref())])
                .collect(),
            &mut out,
        );
        section(
            "Pending incoming (waiting for us)",
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
                        format!("{:?}", l.spec.decision),
                        l.status
                            .as_ref()
                            .and_then(|s| s.phase)
                            .map(|p| format!("{p:?}"))
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
                            .map(|s| format!("{s:?}"))
                            .unwrap_or_else(|| "-".into()),
                        p.spec.peer.organization_id.clone(),
                        or_dash(
                            s.pairing_id.as_deref().or(p
                                .spec
                                .grant
                                .as_ref()
                                .map(|g| g.pairing_id.as_str())),
                        ),
                        s.phase
                            .map(|p| format!("{p:?}"))
                            .unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect(),
            &mut out,
        );
        section(
            "Trustees (have access to us)",
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
            "Trustors (we have access to them)",
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
/// the command that approves it.
pub fn pending(orgs: &[Organization]) -> String {
    let rows: Vec<Vec<String>> = orgs
        .iter()
        .flat_map(|org| {
            let ns = org.metadata.namespace.clone().unwrap_or_default();
            let name = org.metadata.name.clone().unwrap_or_default();
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
                        format!(
                            "kubectl orglink approve {} --org {name} -n {ns}",
                            p.organization_id
                        ),
                    ]
                })
        })
        .collect();
    if rows.is_empty() {
        return "No incoming link requests are waiting.\n".to_string();
    }
    table(
        &[
            "NAMESPACE",
            "ORGANIZATION",
            "FROM ORG ID",
            "FROM NAME",
            "REGION",
            "TO APPROVE",
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::organization::{CredentialsSecretRef, LinkedOrganization, PendingLink};
    use crate::api::{OrganizationSpec, OrganizationStatus, Region};

    fn org() -> Organization {
        let mut o = Organization::new(
            "acme-prod",
            OrganizationSpec {
                region: Region::UsEast1,
                credentials_secret_ref: CredentialsSecretRef {
                    name: "s".into(),
                    client_id_key: "clientId".into(),
                    client_secret_key: "clientSecret".into(),
                },
                api_base_url: None,
                resync_interval: None,
            },
        );
        o.metadata.namespace = Some("team-acme".into());
        o.status = Some(OrganizationStatus {
            organization_id: Some("3f1c2a9e-5b7d-4e2a-9c41-7a0d2b6e8f10".into()),
            name: Some("Acme Prod".into()),
            linked_organizations: vec![LinkedOrganization {
                organization_id: "0b6c4a1e-2d3f-4a5b-8c7d-9e0f1a2b3c4d".into(),
                name: Some("Acme DR".into()),
                region: Some("us-east-1".into()),
            }],
            pending_incoming_links: vec![PendingLink {
                organization_id: "96fe284b-6172-47f7-bd08-b439e763686c".into(),
                name: Some("MSP Prod".into()),
                region: Some("us-east-1".into()),
            }],
            ..Default::default()
        });
        o
    }

    #[test]
    fn status_lists_links_with_id_name_and_region() {
        let s = status(&[org()], &[], &[]);
        assert!(
            s.contains("Organization team-acme/acme-prod: Acme Prod"),
            "{s}"
        );
        assert!(
            s.contains("0b6c4a1e-2d3f-4a5b-8c7d-9e0f1a2b3c4d   Acme DR   us-east-1"),
            "{s}"
        );
        assert!(
            s.contains("Pending outgoing (waiting for them):\n    (none)"),
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
        for out in [status(&[o.clone()], &[], &[]), pending(&[o])] {
            let shown: String = out.chars().filter(|c| *c != '\n').collect();
            assert!(
                !shown.chars().any(|c| c.is_control() || c == '\u{202e}'),
                "{out:?}"
            );
        }
        let s = status(&[org()], &[], &[]);
        assert!(!s.contains('\u{FFFD}'), "ordinary names are unchanged: {s}");
    }

    #[test]
    fn pending_shows_how_to_approve() {
        let p = pending(&[org()]);
        assert!(p.contains("kubectl orglink approve 96fe284b-6172-47f7-bd08-b439e763686c --org acme-prod -n team-acme"), "{p}");
        assert_eq!(pending(&[]), "No incoming link requests are waiting.\n");
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&["A", "LONGER"], &[vec!["xxxx".into(), "y".into()]]);
        assert_eq!(t, "A      LONGER\nxxxx   y\n");
    }
}
