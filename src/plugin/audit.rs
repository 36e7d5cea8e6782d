//! `kubectl orglink audit`: per Organization, the relationships Genesys Cloud shows and
//! no object declares (`unmanaged: true` in its status, docs/api.md "Adopt and audit"),
//! each with the manifest that adopts it, and the objects whose relationship Genesys
//! Cloud does not show.
//!
//! An adopting manifest sends nothing new: an OrgLink for a link that exists, or a
//! request already pending, takes it over (`Adopted` Event); one for the peer's pending
//! request approves it. A trust's members are not in the Organization's view (reading
//! them would cost calls per trust at every resync), so the OrgPairing that adopts a
//! trust is printed with its users and groups to fill in: whatever it lists becomes the
//! membership (trustee side) or the roles (trustor side) the operator converges.

use std::collections::BTreeSet;
use std::fmt::Write;

use k8s_openapi::jiff::Timestamp;
use kube::api::ObjectMeta;

use super::render::{as_of, table};
use crate::api::organization::{TrustMember, TrustMembers, TrustSummary};
use crate::api::orgpairing::{GrantSubject, RoleRef};
use crate::api::text::{clean, clean_name};
use crate::api::{
    LinkDecision, OrgLink, OrgPairing, OrgPairingSpec, Organization, PairingGrant, PairingRequest,
    PeerRef, Region,
};

/// One relationship no object declares, and the object that would adopt it.
#[derive(Clone, Debug, PartialEq)]
pub struct Unmanaged {
    /// `link`, `pending outgoing`, `pending incoming`, `trustor` or `trustee`.
    pub kind: &'static str,
    pub peer: String,
    pub peer_name: Option<String>,
    /// What the relationship is, in words.
    pub what: String,
    pub manifest: Manifest,
}

/// The adopting object.
#[derive(Clone, Debug, PartialEq)]
pub enum Manifest {
    Link(Box<OrgLink>),
    /// A trust: its users and groups are to be filled in before applying.
    Pairing(Box<OrgPairing>),
}

impl Manifest {
    /// The YAML document, with a comment above it saying what applying it does.
    pub fn yaml(&self, comment: &str) -> String {
        let body = match self {
            Manifest::Link(l) => serde_yaml::to_string(l),
            Manifest::Pairing(p) => serde_yaml::to_string(p),
        }
        .unwrap_or_default();
        let mut out = String::new();
        for line in comment.lines() {
            let _ = writeln!(out, "# {}", clean(line));
        }
        out.push_str(&body);
        out
    }
}

/// An object whose relationship Genesys Cloud does not show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// `OrgLink <name>` or `OrgPairing <name>`.
    pub object: String,
    pub peer: String,
    /// The object's phase, which says why (waiting, rejected, ...).
    pub phase: String,
}

/// What the audit finds for one Organization.
#[derive(Clone, Debug, PartialEq)]
pub struct OrgAudit {
    pub unmanaged: Vec<Unmanaged>,
    pub missing: Vec<Missing>,
}

fn short(id: &str) -> String {
    id.chars().take(8).collect()
}

/// The audit of `org` from its status and the objects of its namespace (`links` and
/// `pairings` may hold other namespaces' objects; only those naming `org` count).
pub fn audit_org(org: &Organization, links: &[OrgLink], pairings: &[OrgPairing]) -> OrgAudit {
    let status = org.status.clone().unwrap_or_default();
    let ns = org.metadata.namespace.clone();
    let name = org.metadata.name.clone().unwrap_or_default();
    let own_region = org.spec.region;
    let mine = |n: &Option<String>, r: &str| *n == ns && r == name;
    let my_links: Vec<&OrgLink> = links
        .iter()
        .filter(|l| mine(&l.metadata.namespace, &l.spec.organization_ref))
        .collect();
    let my_pairings: Vec<&OrgPairing> = pairings
        .iter()
        .filter(|p| mine(&p.metadata.namespace, &p.spec.organization_ref))
        .collect();

    let link_manifest = |peer: &str, region: Option<&str>| {
        let region = region.and_then(|r| r.parse::<Region>().ok());
        Manifest::Link(Box::new(super::build::link(
            org,
            peer,
            region.unwrap_or(own_region),
            LinkDecision::Accept,
            None,
        )))
    };
    let mut unmanaged = Vec::new();
    for l in status.linked_organizations.iter().filter(|l| l.unmanaged) {
        unmanaged.push(Unmanaged {
            kind: "link",
            peer: l.organization_id.clone(),
            peer_name: l.name.clone(),
            what: "active voice link; applying adopts it, no request is sent".into(),
            manifest: link_manifest(&l.organization_id, l.region.as_deref()),
        });
    }
    for l in status.pending_outgoing_links.iter().filter(|l| l.unmanaged) {
        unmanaged.push(Unmanaged {
            kind: "pending outgoing",
            peer: l.organization_id.clone(),
            peer_name: l.name.clone(),
            what: "link request this org sent; applying adopts it and waits for the answer, no new request is sent".into(),
            manifest: link_manifest(&l.organization_id, l.region.as_deref()),
        });
    }
    for l in status.pending_incoming_links.iter().filter(|l| l.unmanaged) {
        unmanaged.push(Unmanaged {
            kind: "pending incoming",
            peer: l.organization_id.clone(),
            peer_name: l.name.clone(),
            what: "link request of the peer; applying approves it (decision: Decline rejects it)"
                .into(),
            manifest: link_manifest(&l.organization_id, l.region.as_deref()),
        });
    }
    let pairing_manifest = |t: &TrustSummary, trustee_side: bool| {
        let prefix = if trustee_side {
            "access-to"
        } else {
            "access-for"
        };
        Manifest::Pairing(Box::new(OrgPairing {
            metadata: ObjectMeta {
                name: Some(format!("{prefix}-{}", short(&t.organization_id))),
                namespace: ns.clone(),
                ..Default::default()
            },
            spec: OrgPairingSpec {
                organization_ref: name.clone(),
                peer: PeerRef {
                    organization_id: t.organization_id.clone(),
                    // Pairings are same-region only.
                    region: own_region,
                },
                request: trustee_side.then(|| adopting_request(t.members.as_ref())),
                grant: (!trustee_side).then(|| PairingGrant {
                    pairing_id: None,
                    enabled: t.enabled,
                    expires_at: None,
                    users: grant_subjects(t.members.as_ref().map(|m| m.users.as_slice())),
                    groups: grant_subjects(t.members.as_ref().map(|m| m.groups.as_slice())),
                }),
            },
            status: None,
        }))
    };
    for t in status.trustors.iter().filter(|t| t.unmanaged) {
        let members = match &t.members {
            Some(_) => "its spec.request lists the trust's users and groups as they are: the operator keeps the trust's membership equal to it from then on".to_string(),
            None => "its members could not be read: fill in spec.request.users/groups with the members that keep access (the operator makes the trust's membership equal to them)".to_string(),
        };
        unmanaged.push(Unmanaged {
            kind: "trustor",
            peer: t.organization_id.clone(),
            peer_name: t.name.clone(),
            what: format!(
                "our users have access there ({}); applying adopts the trust, no pairing is created; {members}",
                enabled_word(t.enabled)
            ),
            manifest: pairing_manifest(t, true),
        });
    }
    for t in status.trustees.iter().filter(|t| t.unmanaged) {
        let members = match &t.members {
            Some(_) => "its spec.grant lists the trust's users and groups with the roles they hold (by ID): the operator keeps each one's roles equal to it from then on".to_string(),
            None => "its members could not be read: fill in spec.grant.users/groups with the members and the roles they keep (the operator sets each one's roles to them)".to_string(),
        };
        unmanaged.push(Unmanaged {
            kind: "trustee",
            peer: t.organization_id.clone(),
            peer_name: t.name.clone(),
            what: format!(
                "its users have access here ({}); applying adopts the trust, no trust is created; {members}",
                enabled_word(t.enabled)
            ),
            manifest: pairing_manifest(t, false),
        });
    }

    let has_link = |peer: &str| {
        status
            .linked_organizations
            .iter()
            .map(|l| &l.organization_id)
            .chain(
                status
                    .pending_outgoing_links
                    .iter()
                    .map(|l| &l.organization_id),
            )
            .chain(
                status
                    .pending_incoming_links
                    .iter()
                    .map(|l| &l.organization_id),
            )
            .any(|id| id == peer)
    };
    let phase_of = |p: Option<String>| p.unwrap_or_else(|| "-".into());
    let mut missing = Vec::new();
    for l in my_links {
        let peer = &l.spec.peer.organization_id;
        // A declined link is meant to be absent.
        if l.spec.decision == LinkDecision::Accept && !has_link(peer) {
            missing.push(Missing {
                object: format!("OrgLink {}", l.metadata.name.as_deref().unwrap_or("")),
                peer: peer.clone(),
                phase: phase_of(
                    l.status
                        .as_ref()
                        .and_then(|s| s.phase)
                        .map(|p| p.as_str().to_string()),
                ),
            });
        }
    }
    for p in my_pairings {
        let peer = &p.spec.peer.organization_id;
        let list = if p.spec.request.is_some() {
            &status.trustors
        } else {
            &status.trustees
        };
        if !list.iter().any(|t| &t.organization_id == peer) {
            missing.push(Missing {
                object: format!("OrgPairing {}", p.metadata.name.as_deref().unwrap_or("")),
                peer: peer.clone(),
                phase: phase_of(
                    p.status
                        .as_ref()
                        .and_then(|s| s.phase)
                        .map(|ph| ph.as_str().to_string()),
                ),
            });
        }
    }
    OrgAudit { unmanaged, missing }
}

/// True when an adopting OrgPairing names some member (applies as printed).
fn has_members(p: &OrgPairing) -> bool {
    let request = p.spec.request.as_ref();
    let grant = p.spec.grant.as_ref();
    request.is_some_and(|r| !r.users.is_empty() || !r.groups.is_empty())
        || grant.is_some_and(|g| !g.users.is_empty() || !g.groups.is_empty())
}

/// The request that adopts a trust where we are trustee: its members as they are.
fn adopting_request(members: Option<&TrustMembers>) -> PairingRequest {
    let ids = |list: &[TrustMember]| list.iter().map(|m| m.id.clone()).collect();
    PairingRequest {
        users: members.map(|m| ids(&m.users)).unwrap_or_default(),
        groups: members.map(|m| ids(&m.groups)).unwrap_or_default(),
        ..PairingRequest::default()
    }
}

/// The grant subjects that adopt a trust where we are trustor: each member by ID with
/// the roles it holds, by ID.
fn grant_subjects(members: Option<&[TrustMember]>) -> Vec<GrantSubject> {
    members
        .unwrap_or_default()
        .iter()
        .map(|m| GrantSubject {
            id: Some(m.id.clone()),
            roles: m
                .role_ids
                .iter()
                .map(|id| RoleRef {
                    id: Some(id.clone()),
                    name: None,
                    divisions: vec![],
                })
                .collect(),
            ..GrantSubject::default()
        })
        .collect()
}

/// The audit of each of `orgs`, with every adopting manifest named so that applying it
/// creates a new object: a name already used by an object of that kind in that namespace
/// (an OrgLink of another Organization of the namespace to the same peer, say), or by an
/// earlier manifest of this audit, gets a suffix `-2`, `-3`, ... Applying a manifest
/// under a taken name would overwrite that object's spec.
pub fn audit_all<'a>(
    orgs: &'a [Organization],
    links: &[OrgLink],
    pairings: &[OrgPairing],
) -> Vec<(&'a Organization, OrgAudit)> {
    let key = |meta: &ObjectMeta| {
        (
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
        )
    };
    let mut taken_links: BTreeSet<(String, String)> =
        links.iter().map(|l| key(&l.metadata)).collect();
    let mut taken_pairings: BTreeSet<(String, String)> =
        pairings.iter().map(|p| key(&p.metadata)).collect();
    orgs.iter()
        .map(|org| {
            let mut audit = audit_org(org, links, pairings);
            for u in &mut audit.unmanaged {
                let (meta, taken) = match &mut u.manifest {
                    Manifest::Link(l) => (&mut l.metadata, &mut taken_links),
                    Manifest::Pairing(p) => (&mut p.metadata, &mut taken_pairings),
                };
                let (ns, base) = key(meta);
                let name = (1..)
                    .map(|n| match n {
                        1 => base.clone(),
                        n => format!("{base}-{n}"),
                    })
                    .find(|name| !taken.contains(&(ns.clone(), name.clone())))
                    .unwrap_or(base);
                taken.insert((ns, name.clone()));
                meta.name = Some(name);
            }
            (org, audit)
        })
        .collect()
}

fn enabled_word(enabled: bool) -> &'static str {
    if enabled { "enabled" } else { "disabled" }
}

fn org_key(org: &Organization) -> String {
    format!(
        "{}/{}",
        org.metadata.namespace.as_deref().unwrap_or(""),
        org.metadata.name.as_deref().unwrap_or("")
    )
}

/// The comment above an adopting manifest.
fn comment(org: &Organization, u: &Unmanaged) -> String {
    let who = u
        .peer_name
        .as_deref()
        .map(|n| format!("{} ({})", clean_name(n), u.peer))
        .unwrap_or_else(|| u.peer.clone());
    format!(
        "Organization {}: {} with {who}: {}",
        org_key(org),
        u.kind,
        u.what
    )
}

/// `kubectl orglink audit`: a report per Organization, then the adopting manifests.
pub fn report(
    orgs: &[Organization],
    links: &[OrgLink],
    pairings: &[OrgPairing],
    now: Timestamp,
) -> String {
    let mut out = String::new();
    let mut manifests = Vec::new();
    if orgs.is_empty() {
        return "No Organizations found.\n".into();
    }
    for (org, a) in audit_all(orgs, links, pairings) {
        let name = org
            .status
            .as_ref()
            .and_then(|s| s.name.as_deref())
            .map(|n| format!(" ({})", clean_name(n)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "Organization {}{name}, Genesys Cloud view {}",
            org_key(org),
            as_of(org, now)
        );
        if a.unmanaged.is_empty() {
            out.push_str("  Unmanaged: none (every relationship is declared by an object)\n");
        } else {
            let _ = writeln!(
                out,
                "  Unmanaged (in Genesys Cloud, declared by no object): {}",
                a.unmanaged.len()
            );
            let rows: Vec<Vec<String>> = a
                .unmanaged
                .iter()
                .map(|u| {
                    vec![
                        u.kind.to_string(),
                        u.peer.clone(),
                        u.peer_name.clone().unwrap_or_else(|| "-".into()),
                        match &u.manifest {
                            Manifest::Link(l) => {
                                format!("OrgLink {}", l.metadata.name.clone().unwrap_or_default())
                            }
                            Manifest::Pairing(p) => format!(
                                "OrgPairing {}{}",
                                p.metadata.name.clone().unwrap_or_default(),
                                if has_members(p) {
                                    ""
                                } else {
                                    " (fill in members)"
                                }
                            ),
                        },
                    ]
                })
                .collect();
            indent(
                &mut out,
                &table(&["KIND", "PEER", "NAME", "ADOPT WITH"], &rows),
            );
            manifests.extend(
                a.unmanaged
                    .iter()
                    .map(|u| u.manifest.yaml(&comment(org, u))),
            );
        }
        if a.missing.is_empty() {
            out.push_str("  Declared but missing in Genesys Cloud: none\n");
        } else {
            let _ = writeln!(
                out,
                "  Declared but missing in Genesys Cloud: {}",
                a.missing.len()
            );
            let rows: Vec<Vec<String>> = a
                .missing
                .iter()
                .map(|m| vec![m.object.clone(), m.peer.clone(), m.phase.clone()])
                .collect();
            indent(&mut out, &table(&["OBJECT", "PEER", "PHASE"], &rows));
        }
    }
    if !manifests.is_empty() {
        out.push_str(
            "\nManifests that adopt the unmanaged relationships (`kubectl orglink audit -o yaml` prints only these):\n",
        );
        out.push_str(&manifests_yaml(manifests));
    }
    out
}

/// `kubectl orglink audit -o yaml`: only the adopting manifests, as one YAML stream.
pub fn manifests(orgs: &[Organization], links: &[OrgLink], pairings: &[OrgPairing]) -> String {
    let docs: Vec<String> = audit_all(orgs, links, pairings)
        .into_iter()
        .flat_map(|(org, a)| {
            a.unmanaged
                .iter()
                .map(|u| u.manifest.yaml(&comment(org, u)))
                .collect::<Vec<_>>()
        })
        .collect();
    manifests_yaml(docs)
}

fn manifests_yaml(docs: Vec<String>) -> String {
    docs.into_iter()
        .map(|d| format!("---\n{d}"))
        .collect::<String>()
}

fn indent(out: &mut String, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "    {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::organization::{LinkedOrganization, PendingLink};
    use crate::api::{OrgLinkPhase, OrgLinkSpec, OrgLinkStatus, OrganizationStatus};

    const LINKED: &str = "0b6c4a1e-2d3f-4a5b-8c7d-9e0f1a2b3c4d";
    const ASKING: &str = "3f1c2a9e-5b7d-4e2a-9c41-7a0d2b6e8f10";
    const TRUSTOR: &str = "96fe284b-6172-47f7-bd08-b439e763686c";
    const GONE: &str = "7cefd5c5-6385-4768-ae5d-eaa1ef2cd05a";

    fn org() -> Organization {
        let mut o = Organization::sample("acme-prod", "team-a");
        o.status = Some(OrganizationStatus {
            name: Some("Acme Prod".into()),
            linked_organizations: vec![LinkedOrganization {
                organization_id: LINKED.into(),
                name: Some("Acme DR".into()),
                region: Some("eu-west-1".into()),
                unmanaged: true,
            }],
            pending_incoming_links: vec![PendingLink {
                organization_id: ASKING.into(),
                region: None,
                name: None,
                unmanaged: true,
            }],
            trustors: vec![TrustSummary {
                members: None,
                organization_id: TRUSTOR.into(),
                name: Some("MSP".into()),
                enabled: true,
                unmanaged: true,
            }],
            ..Default::default()
        });
        o
    }

    fn link(name: &str, peer: &str, phase: OrgLinkPhase) -> OrgLink {
        let mut l = OrgLink::new(
            name,
            OrgLinkSpec {
                organization_ref: "acme-prod".into(),
                peer: PeerRef {
                    organization_id: peer.into(),
                    region: Region::UsEast1,
                },
                decision: LinkDecision::Accept,
                attempt: 0,
            },
        );
        l.metadata.namespace = Some("team-a".into());
        l.status = Some(OrgLinkStatus {
            phase: Some(phase),
            ..Default::default()
        });
        l
    }

    #[test]
    fn unmanaged_entries_get_an_adopting_manifest_each() {
        let a = audit_org(&org(), &[], &[]);
        let kinds: Vec<&str> = a.unmanaged.iter().map(|u| u.kind).collect();
        assert_eq!(kinds, ["link", "pending incoming", "trustor"]);
        let Manifest::Link(l) = &a.unmanaged[0].manifest else {
            panic!("a link is adopted by an OrgLink")
        };
        assert_eq!(l.metadata.name.as_deref(), Some("link-0b6c4a1e"));
        assert_eq!(l.metadata.namespace.as_deref(), Some("team-a"));
        assert_eq!(l.spec.organization_ref, "acme-prod");
        assert_eq!(l.spec.peer.region, Region::EuWest1, "the peer's region");
        assert_eq!(l.spec.decision, LinkDecision::Accept);
        // Without a recorded region, the org's own.
        let Manifest::Link(asking) = &a.unmanaged[1].manifest else {
            panic!()
        };
        assert_eq!(asking.spec.peer.region, Region::UsEast1);
        let Manifest::Pairing(p) = &a.unmanaged[2].manifest else {
            panic!("a trust is adopted by an OrgPairing")
        };
        assert!(p.spec.request.is_some() && p.spec.grant.is_none());
        assert_eq!(p.metadata.name.as_deref(), Some("access-to-96fe284b"));
        assert!(a.missing.is_empty());
    }

    #[test]
    fn declared_relationships_missing_remotely_are_listed_with_their_phase() {
        let mut o = org();
        o.status.as_mut().unwrap().linked_organizations[0].unmanaged = false;
        let mut other_ns = link("elsewhere", GONE, OrgLinkPhase::Linked);
        other_ns.metadata.namespace = Some("team-b".into());
        let mut declined = link("no", GONE, OrgLinkPhase::Declined);
        declined.spec.decision = LinkDecision::Decline;
        let links = [
            link("dr", LINKED, OrgLinkPhase::Linked),
            link("gone", GONE, OrgLinkPhase::RejectedByPeer),
            other_ns,
            declined,
        ];
        let a = audit_org(&o, &links, &[]);
        assert_eq!(
            a.missing,
            vec![Missing {
                object: "OrgLink gone".into(),
                peer: GONE.into(),
                phase: "RejectedByPeer".into(),
            }]
        );
    }

    #[test]
    fn a_trust_with_members_read_is_adopted_as_it_is() {
        let mut o = org();
        let status = o.status.as_mut().unwrap();
        let user = "11111111-1111-4111-8111-111111111111";
        let role = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
        status.trustors[0].members = Some(TrustMembers {
            users: vec![TrustMember {
                id: user.into(),
                role_ids: vec![],
            }],
            groups: vec![],
        });
        status.trustees.push(TrustSummary {
            organization_id: GONE.into(),
            name: None,
            enabled: true,
            unmanaged: true,
            members: Some(TrustMembers {
                users: vec![TrustMember {
                    id: user.into(),
                    role_ids: vec![role.into()],
                }],
                groups: vec![],
            }),
        });
        let a = audit_org(&o, &[], &[]);
        let pairing = |kind: &str| match &a
            .unmanaged
            .iter()
            .find(|u| u.kind == kind)
            .unwrap()
            .manifest
        {
            Manifest::Pairing(p) => p.clone(),
            Manifest::Link(_) => panic!("a trust is adopted by an OrgPairing"),
        };
        let request = pairing("trustor").spec.request.unwrap();
        assert_eq!(request.users, vec![user.to_string()]);
        let grant = pairing("trustee").spec.grant.unwrap();
        assert_eq!(grant.users[0].id.as_deref(), Some(user));
        assert_eq!(grant.users[0].roles[0].id.as_deref(), Some(role));
        let r = report(
            &[o],
            &[],
            &[],
            Timestamp::from_second(1_800_000_000).unwrap(),
        );
        assert!(!r.contains("fill in members"), "{r}");
        assert!(
            r.contains("lists the trust's users and groups as they are"),
            "{r}"
        );
    }

    #[test]
    fn an_adopting_manifest_never_takes_the_name_of_an_object_or_of_another_manifest() {
        // An OrgLink of another Organization of the namespace already has the name the
        // link would get; a second Organization of the namespace with the same
        // unmanaged link would get it too.
        let taken = link("link-0b6c4a1e", ASKING, OrgLinkPhase::Linked);
        let mut twin = org();
        twin.metadata.name = Some("acme-test".into());
        let orgs = [org(), twin];
        let names: Vec<String> = audit_all(&orgs, &[taken], &[])
            .iter()
            .flat_map(|(_, a)| a.unmanaged.iter())
            .filter_map(|u| match &u.manifest {
                Manifest::Link(l) if u.peer == LINKED => l.metadata.name.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["link-0b6c4a1e-2", "link-0b6c4a1e-3"]);
        // The same name in another namespace is no clash.
        let mut elsewhere = link("link-0b6c4a1e", ASKING, OrgLinkPhase::Linked);
        elsewhere.metadata.namespace = Some("team-b".into());
        let yaml = manifests(&[org()], &[elsewhere], &[]);
        assert!(yaml.contains("name: link-0b6c4a1e\n"), "{yaml}");
    }

    #[test]
    fn the_report_names_each_entry_and_prints_applicable_yaml() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let r = report(&[org()], &[], &[], now);
        assert!(
            r.contains("Organization team-a/acme-prod (Acme Prod)"),
            "{r}"
        );
        assert!(r.contains("Unmanaged (in Genesys Cloud, declared by no object): 3"));
        assert!(r.contains("OrgLink link-0b6c4a1e"), "{r}");
        assert!(r.contains("(fill in members)"), "{r}");
        assert!(!r.contains("Some("), "no debug output: {r}");
        let yaml = manifests(&[org()], &[], &[]);
        let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&yaml)
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .collect();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0]["kind"], "OrgLink");
        assert_eq!(docs[0]["spec"]["peer"]["organizationId"], LINKED);
        assert_eq!(docs[2]["kind"], "OrgPairing");
        // A hostile peer name cannot end the comment and inject YAML.
        let mut hostile = org();
        hostile.status.as_mut().unwrap().linked_organizations[0].name =
            Some("DR\nkind: Secret".into());
        let y = manifests(&[hostile], &[], &[]);
        assert!(!y.contains("\nkind: Secret"), "{y}");
        assert_eq!(
            report(&[], &[], &[], now),
            "No Organizations found.\n".to_string()
        );
    }
}
