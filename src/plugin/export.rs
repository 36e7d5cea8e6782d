//! `kubectl orglink pairing export`: the trustor side's OrgPairing for a trustee's
//! pairing, ready to commit in the trustor's repository (another cluster, another team),
//! so nobody copies the pairing ID, the trustee's org ID or its users by hand.
//!
//! Everything it needs is on the trustee's objects: the pairing ID and its expiry in the
//! OrgPairing's status, the trustee org's ID in its Organization's status, the users and
//! groups in the request. The roles are the trustor's to choose: each subject gets the
//! `--role`s given, or none (authorized but able to do nothing; docs/api.md, OrgPairing).

use k8s_openapi::jiff::Timestamp;
use kube::api::ObjectMeta;

use crate::api::orgpairing::{GrantSubject, RoleRef};
use crate::api::text::{clean, clean_name};
use crate::api::{OrgPairing, OrgPairingSpec, Organization, PairingGrant, PeerRef};

/// What the trustor's manifest is called and whose it is.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// `metadata.name`; default: the trustee OrgPairing's name.
    pub name: Option<String>,
    /// `metadata.namespace`; default: none, so `kubectl apply -n` decides.
    pub namespace: Option<String>,
    /// `spec.organizationRef`: the trustor's Organization.
    pub trustor_org: String,
    /// Roles of the trustor org (by name) every user and group gets.
    pub roles: Vec<String>,
}

/// Why there is nothing to export yet, or nothing to export from this object.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExportError {
    #[error(
        "OrgPairing {0} is the trustor's side (spec.grant); export the trustee's OrgPairing (spec.request), in the cluster of the org that asked for access"
    )]
    NotTrustee(String),
    #[error(
        "OrgPairing {0} has no status.pairingId yet (phase {1}): the operator has not created the pairing in Genesys Cloud; wait until `kubectl get opair` shows it WaitingForConfirmation"
    )]
    NoPairingId(String, String),
    #[error(
        "Organization {0} has no status.organizationId yet: the operator has not connected to it; see `kubectl describe gcorg`"
    )]
    OrgNotConnected(String),
    #[error("--trustor-org is empty: name the trustor's Organization (its spec.organizationRef)")]
    NoTrustorOrg,
    #[error("--role {0:?} is empty: name a role of the trustor org, e.g. --role Supervisor")]
    EmptyRole(String),
}

fn key(meta: &ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or(""),
        meta.name.as_deref().unwrap_or("")
    )
}

/// The trustor's OrgPairing that accepts `trustee`'s pairing, given the trustee's
/// Organization `trustee_org` (`trustee.spec.organizationRef`).
pub fn grant_for(
    trustee: &OrgPairing,
    trustee_org: &Organization,
    opts: &ExportOptions,
) -> Result<OrgPairing, ExportError> {
    let request = trustee
        .spec
        .request
        .as_ref()
        .ok_or_else(|| ExportError::NotTrustee(key(&trustee.metadata)))?;
    let status = trustee.status.clone().unwrap_or_default();
    let pairing_id = status
        .pairing_id
        .clone()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            ExportError::NoPairingId(
                key(&trustee.metadata),
                status
                    .phase
                    .map_or_else(|| "none yet".into(), |p| p.as_str().to_string()),
            )
        })?;
    let trustee_id = trustee_org
        .status
        .as_ref()
        .and_then(|s| s.organization_id.clone())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ExportError::OrgNotConnected(key(&trustee_org.metadata)))?;
    if opts.trustor_org.trim().is_empty() {
        return Err(ExportError::NoTrustorOrg);
    }
    if let Some(r) = opts.roles.iter().find(|r| r.trim().is_empty()) {
        return Err(ExportError::EmptyRole(r.clone()));
    }
    let roles: Vec<RoleRef> = opts
        .roles
        .iter()
        .map(|r| RoleRef {
            name: Some(r.trim().to_string()),
            id: None,
            divisions: Vec::new(),
        })
        .collect();
    let subject = |id: &String| GrantSubject {
        id: Some(id.clone()),
        roles: roles.clone(),
        ..GrantSubject::default()
    };
    // Emails and group names carry over as written: the trustor matches them among the
    // users and groups of the pairing.
    let by_email = |email: &String| GrantSubject {
        email: Some(email.clone()),
        roles: roles.clone(),
        ..GrantSubject::default()
    };
    let by_name = |name: &String| GrantSubject {
        name: Some(name.clone()),
        roles: roles.clone(),
        ..GrantSubject::default()
    };
    Ok(OrgPairing {
        metadata: ObjectMeta {
            name: opts.name.clone().or_else(|| trustee.metadata.name.clone()),
            namespace: opts.namespace.clone(),
            ..Default::default()
        },
        spec: OrgPairingSpec {
            organization_ref: opts.trustor_org.trim().to_string(),
            peer: PeerRef {
                organization_id: trustee_id,
                // Pairings are same-region only: the trustor is in the trustee's region.
                region: trustee.spec.peer.region,
            },
            request: None,
            grant: Some(PairingGrant {
                pairing_id: Some(pairing_id),
                enabled: true,
                expires_at: None,
                users: request
                    .users
                    .iter()
                    .map(subject)
                    .chain(request.user_emails.iter().map(by_email))
                    .collect(),
                groups: request
                    .groups
                    .iter()
                    .map(subject)
                    .chain(request.group_names.iter().map(by_name))
                    .collect(),
            }),
        },
        status: None,
    })
}

/// The comment above the exported manifest: whose pairing it is, and until when its ID
/// holds (an unaccepted pairing is replaced every 48 h, with a new ID).
pub fn header(trustee: &OrgPairing, trustee_org: &Organization, now: Timestamp) -> String {
    let status = trustee.status.clone().unwrap_or_default();
    let org_status = trustee_org.status.clone().unwrap_or_default();
    let who = match org_status.name.as_deref() {
        Some(n) if !n.is_empty() => clean_name(n).into_owned(),
        _ => key(&trustee_org.metadata),
    };
    let mut out = format!(
        "# The trustor's side of pairing {} requested by {who} (OrgPairing {}).\n",
        clean(status.pairing_id.as_deref().unwrap_or("-")),
        key(&trustee.metadata),
    );
    match status.pairing_expires_at.as_ref().map(|t| t.0) {
        Some(expires) if expires <= now => out.push_str(&format!(
            "# This pairing ID expired at {expires} and is being replaced: export again once the trustee shows the new one.\n"
        )),
        Some(expires) => out.push_str(&format!(
            "# Apply it before {expires}: an unaccepted pairing is replaced every 48 h, with a new ID.\n"
        )),
        None => {}
    }
    out.push_str(
        "# Give each user and group the roles of your org it needs (roles: [{name: ...}]).\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{
        OrgPairingPhase, OrgPairingStatus, OrganizationStatus, PairingRequest, Region,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    const TRUSTEE_ID: &str = "7cefd5c5-6385-4768-ae5d-eaa1ef2cd05a";
    const TRUSTOR_ID: &str = "f3c95789-ace1-4954-ac5d-6baed2eac902";
    const PAIRING: &str = "5f2b8d61-3c4e-4f7a-9b0c-1d2e3f4a5b6c";
    const USER: &str = "7b9ea66e-083b-4317-b614-c6aa1bfc22ea";
    const GROUP: &str = "de3300db-9825-4815-9e9d-39917bb7fa69";

    fn trustee(pairing_id: Option<&str>) -> OrgPairing {
        let mut p = OrgPairing::new(
            "support-into-acme",
            OrgPairingSpec {
                organization_ref: "msp-prod".into(),
                peer: PeerRef {
                    organization_id: TRUSTOR_ID.into(),
                    region: Region::UsEast1,
                },
                request: Some(PairingRequest {
                    users: vec![USER.into()],
                    groups: vec![GROUP.into()],
                    ..PairingRequest::default()
                }),
                grant: None,
            },
        );
        p.metadata.namespace = Some("team-msp".into());
        p.status = Some(OrgPairingStatus {
            phase: Some(OrgPairingPhase::WaitingForConfirmation),
            pairing_id: pairing_id.map(Into::into),
            pairing_expires_at: Some(Time(Timestamp::from_second(1_800_172_800).unwrap())),
            ..Default::default()
        });
        p
    }

    fn org(id: Option<&str>) -> Organization {
        let mut o = Organization::sample("msp-prod", "team-msp");
        o.status = Some(OrganizationStatus {
            organization_id: id.map(Into::into),
            name: Some("MSP Prod".into()),
            ..Default::default()
        });
        o
    }

    fn opts(roles: &[&str]) -> ExportOptions {
        ExportOptions {
            trustor_org: "acme-prod".into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_grant_names_the_pairing_the_trustee_and_its_subjects() {
        let g = grant_for(
            &trustee(Some(PAIRING)),
            &org(Some(TRUSTEE_ID)),
            &opts(&["Supervisor"]),
        )
        .unwrap();
        assert_eq!(g.metadata.name.as_deref(), Some("support-into-acme"));
        assert_eq!(g.metadata.namespace, None);
        assert_eq!(g.spec.organization_ref, "acme-prod");
        assert_eq!(g.spec.peer.organization_id, TRUSTEE_ID);
        assert_eq!(g.spec.peer.region, Region::UsEast1);
        assert!(g.spec.request.is_none());
        let grant = g.spec.grant.unwrap();
        assert_eq!(grant.pairing_id.as_deref(), Some(PAIRING));
        assert!(grant.enabled);
        let supervisor = vec![RoleRef {
            name: Some("Supervisor".into()),
            id: None,
            divisions: Vec::new(),
        }];
        assert_eq!(grant.users.len(), 1);
        assert_eq!(
            (
                grant.users[0].id.as_deref().unwrap_or_default(),
                &grant.users[0].roles
            ),
            (USER, &supervisor)
        );
        assert_eq!(
            (
                grant.groups[0].id.as_deref().unwrap_or_default(),
                &grant.groups[0].roles
            ),
            (GROUP, &supervisor)
        );
    }

    #[test]
    fn name_namespace_and_no_roles_are_the_callers() {
        let o = ExportOptions {
            name: Some("msp-support".into()),
            namespace: Some("acme-prod".into()),
            ..opts(&[])
        };
        let g = grant_for(&trustee(Some(PAIRING)), &org(Some(TRUSTEE_ID)), &o).unwrap();
        assert_eq!(g.metadata.name.as_deref(), Some("msp-support"));
        assert_eq!(g.metadata.namespace.as_deref(), Some("acme-prod"));
        assert!(g.spec.grant.unwrap().users[0].roles.is_empty());
    }

    #[test]
    fn nothing_to_export_says_why() {
        let t = trustee(Some(PAIRING));
        let o = org(Some(TRUSTEE_ID));
        let err = |r: Result<OrgPairing, ExportError>| r.unwrap_err().to_string();
        let no_id = err(grant_for(&trustee(None), &o, &opts(&[])));
        assert!(
            no_id.contains("no status.pairingId yet (phase WaitingForConfirmation)"),
            "{no_id}"
        );
        let not_connected = err(grant_for(&t, &org(None), &opts(&[])));
        assert!(
            not_connected.contains("team-msp/msp-prod has no status.organizationId"),
            "{not_connected}"
        );
        let mut grant_side = t.clone();
        grant_side.spec.grant = Some(PairingGrant {
            pairing_id: Some(PAIRING.into()),
            enabled: true,
            expires_at: None,
            users: vec![],
            groups: vec![],
        });
        grant_side.spec.request = None;
        let trustor = err(grant_for(&grant_side, &o, &opts(&[])));
        assert!(
            trustor.contains("team-msp/support-into-acme is the trustor's side"),
            "{trustor}"
        );
        assert_eq!(
            grant_for(&t, &o, &ExportOptions::default()).unwrap_err(),
            ExportError::NoTrustorOrg
        );
        assert!(matches!(
            grant_for(&t, &o, &opts(&["Supervisor", " "])),
            Err(ExportError::EmptyRole(_))
        ));
    }

    #[test]
    fn the_header_says_until_when_the_id_holds() {
        let t = trustee(Some(PAIRING));
        let before = header(
            &t,
            &org(Some(TRUSTEE_ID)),
            Timestamp::from_second(1_800_000_000).unwrap(),
        );
        assert!(
            before.contains(&format!("pairing {PAIRING} requested by MSP Prod")),
            "{before}"
        );
        assert!(before.contains("Apply it before 2027-01-17T"), "{before}");
        let after = header(
            &t,
            &org(Some(TRUSTEE_ID)),
            Timestamp::from_second(1_900_000_000).unwrap(),
        );
        assert!(after.contains("expired at"), "{after}");
        assert!(
            before.lines().all(|l| l.starts_with("# ")),
            "a YAML comment: {before}"
        );
        // The trustee org's name comes from Genesys: it cannot end the comment.
        let mut hostile = org(Some(TRUSTEE_ID));
        hostile.status.as_mut().unwrap().name = Some("MSP\nkind: Secret".into());
        let h = header(&t, &hostile, Timestamp::from_second(1_800_000_000).unwrap());
        assert!(h.lines().all(|l| l.starts_with("# ")), "{h}");
    }
}
