//! `kubectl orglink`, the real `kubectl-orglink` binary run by kubectl as a plugin,
//! against the sandbox (issue 17, items 6 and 2): what `status`, `pending`, `approve`,
//! `decline`, `unlink`, `retry`, `audit` and `pairing export` print, and what each does to the
//! OrgLinks and OrgPairings and in the simulated Genesys Cloud. Same fixture as `scenarios.rs`: one control plane and
//! operator per test binary, one simulator per test. Organizations resync hourly, so
//! every view the plugin shows comes from the fresh read it asks for.

mod support;

use kube::api::Api;
use orglink_operator::api::{
    LinkDecision, OrgLink, OrgLinkPhase, OrgPairing, OrgPairingPhase, PairingRequest,
};
use orglink_operator::sandbox::genesys_sim::seed::SeedOrg;
use orglink_operator::sandbox::genesys_sim::state::LinkViewStatus;
use support::{WAIT, World, apply, eventually, kubectl_orglink, link, link_phase, pairing_phase};

/// `kubectl orglink ARGS`, which must succeed; its stdout.
async fn ok(args: &[&str]) -> String {
    let (ok, out, err) = kubectl_orglink(args).await;
    assert!(ok, "kubectl orglink {}: {out}{err}", args.join(" "));
    out
}

/// The link between `a` and `b` as `a` sees it in Genesys Cloud, if any.
fn remote_link(w: &World, a: &SeedOrg, b: &SeedOrg) -> Option<LinkViewStatus> {
    w.sim
        .state()
        .links_of(a.id)
        .unwrap()
        .into_iter()
        .find(|v| v.target_organization_id == b.id)
        .map(|v| v.status)
}

/// Waits until the OrgLink `ns/name` is gone.
async fn gone(w: &World, ns: &str, name: &str) {
    let api: Api<OrgLink> = Api::namespaced(w.client.clone(), ns);
    support::wait_gone(&api, name, &format!("OrgLink {ns}/{name} gone")).await
}

/// A request Acme Prod made: `pending` lists it on Acme DR's side with the command that
/// answers it; `approve -o yaml` prints that OrgLink without creating it; `approve`
/// creates it and both sides link; `status` shows the link on both lists; `unlink`
/// deletes the OrgLink, which severs the link in Genesys; `unlink` of what is not there
/// fails naming it.
#[tokio::test]
async fn pending_approve_status_and_unlink() {
    let w = World::new("plugin-approve", "1h").await;
    let (prod, dr) = (w.org("Acme Prod"), w.org("Acme DR"));
    let (prod_ns, dr_ns) = (w.ns("Acme Prod").to_string(), w.ns("Acme DR").to_string());
    w.ready("Acme Prod").await;
    w.ready("Acme DR").await;
    apply(
        &w.client,
        &prod_ns,
        &link("to-dr", &prod_ns, &dr, LinkDecision::Accept, 0),
    )
    .await;
    link_phase(
        &w.client,
        &prod_ns,
        "to-dr",
        OrgLinkPhase::WaitingForConfirmation,
    )
    .await;

    // pending: Acme Prod's request, on Acme DR's side, with the command to approve it.
    let pending = ok(&["pending", "-n", &dr_ns, "--refresh-timeout", "60s"]).await;
    let approve_cmd = format!(
        "kubectl orglink approve {} --org {dr_ns} -n {dr_ns}",
        prod.id
    );
    let row = pending
        .lines()
        .find(|l| l.contains(&prod.id.to_string()))
        .unwrap_or_else(|| panic!("Acme Prod's request is listed: {pending}"));
    assert!(
        row.contains("Acme Prod") && row.contains("us-east-1") && row.contains(&approve_cmd),
        "{row}"
    );

    // approve -o yaml: the OrgLink for a GitOps commit, nothing created.
    let prod_id = prod.id.to_string();
    let answer = [
        "approve",
        prod_id.as_str(),
        "--org",
        dr_ns.as_str(),
        "-n",
        dr_ns.as_str(),
        "--refresh-timeout",
        "60s",
    ];
    let yaml = ok(&[&answer[..], &["-o", "yaml"]].concat()).await;
    let printed: OrgLink = serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("{e}: {yaml}"));
    let name = format!("link-{}", &prod_id[..8]);
    assert_eq!(printed.metadata.name.as_deref(), Some(name.as_str()));
    assert_eq!(printed.spec.organization_ref, dr_ns);
    assert_eq!(printed.spec.peer.organization_id, prod_id);
    assert_eq!(printed.spec.peer.region, prod.region);
    assert_eq!(printed.spec.decision, LinkDecision::Accept);
    let dr_links: Api<OrgLink> = Api::namespaced(w.client.clone(), &dr_ns);
    assert!(
        dr_links.get_opt(&name).await.unwrap().is_none(),
        "-o yaml creates nothing"
    );

    // approve: creates it; both sides Linked, and Genesys says so.
    let out = ok(&answer).await;
    assert_eq!(
        out.trim(),
        format!("orglink.orglink.dev/{name} created (Accept)")
    );
    link_phase(&w.client, &dr_ns, &name, OrgLinkPhase::Linked).await;
    link_phase(&w.client, &prod_ns, "to-dr", OrgLinkPhase::Linked).await;
    assert_eq!(remote_link(&w, &prod, &dr), Some(LinkViewStatus::Approved));

    // status: the Organization, the link read from Genesys, and the OrgLink.
    let status = ok(&["status", "-n", &prod_ns, "--refresh-timeout", "60s"]).await;
    assert!(
        status.starts_with(&format!(
            "Organization {prod_ns}/{prod_ns}: Acme Prod [{}]",
            prod.id
        )),
        "{status}"
    );
    assert!(status.contains("Ready True (Connected)"), "{status}");
    let linked = status
        .split("  Linked organizations (as of ")
        .nth(1)
        .and_then(|s| s.split("  Pending outgoing").next())
        .unwrap_or_else(|| panic!("a Linked organizations list with its age: {status}"));
    assert!(
        linked.contains(&dr.id.to_string()) && linked.contains("Acme DR"),
        "{status}"
    );
    let orglinks = status
        .split("  OrgLinks:\n")
        .nth(1)
        .and_then(|s| s.split("  OrgPairings:").next())
        .unwrap_or_else(|| panic!("an OrgLinks list: {status}"));
    let row = orglinks
        .lines()
        .find(|l| l.trim_start().starts_with("to-dr "))
        .unwrap_or_else(|| panic!("to-dr is listed: {status}"));
    assert!(
        row.contains(&dr.id.to_string()) && row.contains("Accept") && row.contains("Linked"),
        "{row}"
    );

    // unlink: the OrgLink goes, and with it the link in Genesys, for both sides.
    let out = ok(&["unlink", "to-dr", "-n", &prod_ns]).await;
    assert_eq!(
        out.trim(),
        "orglink.orglink.dev/to-dr deleted: the operator severs the link before the object goes"
    );
    gone(&w, &prod_ns, "to-dr").await;
    assert_eq!(remote_link(&w, &prod, &dr), None, "severed in Genesys");
    assert_eq!(
        remote_link(&w, &dr, &prod),
        None,
        "severed for the peer too"
    );
    link_phase(&w.client, &dr_ns, &name, OrgLinkPhase::UnlinkedByPeer).await;

    // unlink of what is not there: fails, naming the object.
    let (ok_, out, err) = kubectl_orglink(&["unlink", "to-dr", "-n", &prod_ns]).await;
    assert!(!ok_, "{out}");
    assert!(
        err.contains(&format!("deleting OrgLink {prod_ns}/to-dr")),
        "{err}"
    );
}

/// MSP Prod asks Acme Prod, which declines with `decline`: its OrgLink says Declined,
/// MSP's RejectedByPeer, Genesys Rejected. Acme Prod lets go of its answer (`unlink`),
/// MSP asks again with `retry` (spec.attempt 1, a new request in Genesys), and
/// `approve` then links them.
#[tokio::test]
async fn decline_then_retry_and_approve() {
    let w = World::new("plugin-decline", "1h").await;
    let (prod, msp) = (w.org("Acme Prod"), w.org("MSP Prod"));
    let (prod_ns, msp_ns) = (w.ns("Acme Prod").to_string(), w.ns("MSP Prod").to_string());
    w.ready("Acme Prod").await;
    w.ready("MSP Prod").await;
    apply(
        &w.client,
        &msp_ns,
        &link("to-acme", &msp_ns, &prod, LinkDecision::Accept, 0),
    )
    .await;
    link_phase(
        &w.client,
        &msp_ns,
        "to-acme",
        OrgLinkPhase::WaitingForConfirmation,
    )
    .await;

    // decline: an OrgLink with decision Decline; the requester is rejected.
    let msp_id = msp.id.to_string();
    let answer = |verb: &'static str| {
        [
            verb,
            msp_id.as_str(),
            "--org",
            prod_ns.as_str(),
            "-n",
            prod_ns.as_str(),
            "--refresh-timeout",
            "60s",
        ]
    };
    let name = format!("link-{}", &msp_id[..8]);
    let out = ok(&answer("decline")).await;
    assert_eq!(
        out.trim(),
        format!("orglink.orglink.dev/{name} created (Decline)")
    );
    link_phase(&w.client, &prod_ns, &name, OrgLinkPhase::Declined).await;
    link_phase(&w.client, &msp_ns, "to-acme", OrgLinkPhase::RejectedByPeer).await;
    assert_eq!(remote_link(&w, &msp, &prod), Some(LinkViewStatus::Rejected));

    // Acme Prod withdraws its refusal: unlink deletes the Decline OrgLink.
    let out = ok(&["unlink", &name, "-n", &prod_ns]).await;
    assert!(
        out.starts_with(&format!("orglink.orglink.dev/{name} deleted")),
        "{out}"
    );
    gone(&w, &prod_ns, &name).await;

    // retry: spec.attempt 1, and the operator asks again in Genesys.
    let out = ok(&["retry", "to-acme", "-n", &msp_ns]).await;
    assert_eq!(
        out.trim(),
        "orglink.orglink.dev/to-acme patched: spec.attempt is now 1"
    );
    let retried = link_phase(
        &w.client,
        &msp_ns,
        "to-acme",
        OrgLinkPhase::WaitingForConfirmation,
    )
    .await;
    assert_eq!(retried.spec.attempt, 1);
    assert_eq!(retried.status.unwrap().observed_attempt, Some(1));
    assert_eq!(remote_link(&w, &msp, &prod), Some(LinkViewStatus::Pending));

    // approve: the new request is answered, and both sides link.
    let out = ok(&answer("approve")).await;
    assert_eq!(
        out.trim(),
        format!("orglink.orglink.dev/{name} created (Accept)")
    );
    link_phase(&w.client, &prod_ns, &name, OrgLinkPhase::Linked).await;
    link_phase(&w.client, &msp_ns, "to-acme", OrgLinkPhase::Linked).await;
    assert_eq!(remote_link(&w, &prod, &msp), Some(LinkViewStatus::Approved));

    // retry of what is not there: fails, naming the object.
    let (ok_, out, err) = kubectl_orglink(&["retry", "nope", "-n", &msp_ns]).await;
    assert!(!ok_, "{out}");
    assert!(
        err.contains(&format!("reading OrgLink {msp_ns}/nope")),
        "{err}"
    );
}

/// MSP Prod (trustee) asks Acme Prod for access; `pairing export` prints the trustor's
/// OrgPairing (pairingId, MSP's org ID, its users and groups with the `--role`s, the
/// expiry in a comment), and applying that output as it is authorizes the pairing with
/// the roles assigned. Exporting the trustor's side, or an unknown name, fails saying so.
#[tokio::test]
async fn pairing_export_prints_the_grant_that_authorizes() {
    let w = World::new("plugin-export", "1h").await;
    let (acme, msp) = (w.org("Acme Prod"), w.org("MSP Prod"));
    let (acme_ns, msp_ns) = (w.ns("Acme Prod").to_string(), w.ns("MSP Prod").to_string());
    w.ready("Acme Prod").await;
    w.ready("MSP Prod").await;
    let (user, group) = (msp.users[0].id.to_string(), msp.groups[0].id.to_string());
    let request = PairingRequest {
        users: vec![user.clone()],
        groups: vec![group.clone()],
        ..PairingRequest::default()
    };
    let waiting = support::request_pairing(&w, &msp_ns, "into-acme", &acme, request).await;
    let st = waiting.status.unwrap();
    let pairing_id = st
        .pairing_id
        .expect("the pairing ID in the trustee's status");
    let expires = st
        .pairing_expires_at
        .expect("the trustee's status carries the pairing's expiry")
        .0;

    let role = acme.roles[0].name.clone();
    let yaml = ok(&[
        "pairing",
        "export",
        "into-acme",
        "-n",
        &msp_ns,
        "--trustor-org",
        &acme_ns,
        "--trustor-namespace",
        &acme_ns,
        "--as",
        "msp-support",
        "--role",
        &role,
    ])
    .await;
    assert!(
        yaml.starts_with(&format!(
            "# The trustor's side of pairing {pairing_id} requested by MSP Prod (OrgPairing {msp_ns}/into-acme).\n"
        )),
        "{yaml}"
    );
    assert!(
        yaml.contains(&format!("# Apply it before {expires}")),
        "{yaml}"
    );
    let grant: OrgPairing = serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("{e}: {yaml}"));
    assert_eq!(grant.metadata.name.as_deref(), Some("msp-support"));
    assert_eq!(grant.metadata.namespace.as_deref(), Some(acme_ns.as_str()));
    assert_eq!(grant.spec.organization_ref, acme_ns);
    assert_eq!(grant.spec.peer.organization_id, msp.id.to_string());
    let g = grant.spec.grant.clone().expect("spec.grant");
    assert_eq!(g.pairing_id.as_deref(), Some(pairing_id.as_str()));
    assert_eq!(
        g.users.iter().map(|s| s.id.as_ref()).collect::<Vec<_>>(),
        [Some(&user)]
    );
    assert_eq!(
        g.groups.iter().map(|s| s.id.as_ref()).collect::<Vec<_>>(),
        [Some(&group)]
    );
    for s in g.users.iter().chain(&g.groups) {
        assert_eq!(s.roles.len(), 1);
        assert_eq!(s.roles[0].name.as_deref(), Some(role.as_str()));
    }

    // Applied as printed, it authorizes the pairing on both sides with the role.
    let (applied, out, err) = support::kubectl(&["apply", "-f", "-"], Some(&yaml));
    assert!(applied, "kubectl apply of the export: {out}{err}");
    let authorized = pairing_phase(
        &w.client,
        &acme_ns,
        "msp-support",
        OrgPairingPhase::Authorized,
    )
    .await;
    pairing_phase(&w.client, &msp_ns, "into-acme", OrgPairingPhase::Authorized).await;
    let subjects = authorized.status.unwrap().subjects;
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(subjects.iter().all(|s| s.roles.len() == 1), "{subjects:?}");

    // Not from the trustor's side, nor from nothing.
    let (ok_, out, err) = kubectl_orglink(&[
        "pairing",
        "export",
        "msp-support",
        "-n",
        &acme_ns,
        "--trustor-org",
        "x",
    ])
    .await;
    assert!(!ok_, "{out}");
    assert!(err.contains("is the trustor's side (spec.grant)"), "{err}");
    let (ok_, out, err) = kubectl_orglink(&[
        "pairing",
        "export",
        "nope",
        "-n",
        &msp_ns,
        "--trustor-org",
        "x",
    ])
    .await;
    assert!(!ok_, "{out}");
    assert!(
        err.contains(&format!("reading OrgPairing {msp_ns}/nope")),
        "{err}"
    );
}

/// `audit`: a link request Acme DR sent from the Genesys Cloud UI is listed on Acme
/// Prod's side as unmanaged, with the OrgLink that adopts it; an OrgLink held by
/// `orglink.dev/reconcile: observe` is declared but missing in Genesys Cloud. `audit -o
/// yaml` piped to `kubectl apply` approves the request: linked, no request of Acme
/// Prod's own, an `Adopted` Event, and the audit then shows nothing unmanaged.
#[tokio::test]
async fn audit_lists_unmanaged_links_and_its_manifest_adopts_them() {
    let w = World::new("plugin-audit", "1h").await;
    let (prod, dr, msp) = (w.org("Acme Prod"), w.org("Acme DR"), w.org("MSP Prod"));
    let prod_ns = w.ns("Acme Prod").to_string();
    w.ready("Acme Prod").await;
    support::genesys_as(&w, &dr)
        .create_link(&prod.id.to_string(), prod.region.code())
        .await
        .unwrap();
    let mut held = link("to-msp", &prod_ns, &msp, LinkDecision::Accept, 0);
    held.metadata
        .annotations
        .get_or_insert_default()
        .insert("orglink.dev/reconcile".into(), "observe".into());
    apply(&w.client, &prod_ns, &held).await;

    let report = ok(&["audit", "-n", &prod_ns]).await;
    let row = report
        .lines()
        .find(|l| l.contains(&dr.id.to_string()) && !l.starts_with('#'))
        .unwrap_or_else(|| panic!("no row for Acme DR: {report}"));
    assert!(row.contains("pending incoming"), "{row}");
    let name = format!("link-{}", &dr.id.to_string()[..8]);
    assert!(row.contains(&format!("OrgLink {name}")), "{row}");
    assert!(
        report.contains("Unmanaged (in Genesys Cloud, declared by no object): 1"),
        "{report}"
    );
    let missing = report
        .lines()
        .find(|l| l.contains("OrgLink to-msp"))
        .unwrap_or_else(|| panic!("to-msp is not listed as missing: {report}"));
    assert!(missing.contains(&msp.id.to_string()), "{missing}");
    assert!(
        report.contains("# Organization ") && report.contains("applying approves it"),
        "{report}"
    );

    let yaml = ok(&["audit", "-n", &prod_ns, "-o", "yaml", "--no-refresh"]).await;
    assert!(yaml.starts_with("---\n# Organization "), "{yaml}");
    let posts = |w: &World| {
        w.sim
            .stats()
            .count(prod.id, "POST /api/v2/telephony/organization/link")
    };
    let before = posts(&w);
    let (applied, out, err) = support::kubectl(&["apply", "-n", &prod_ns, "-f", "-"], Some(&yaml));
    assert!(
        applied,
        "kubectl apply of the audit's manifests: {out}{err}"
    );
    let linked = link_phase(&w.client, &prod_ns, &name, OrgLinkPhase::Linked).await;
    assert_eq!(
        linked.status.unwrap().direction,
        Some(orglink_operator::api::LinkDirection::Incoming)
    );
    assert_eq!(posts(&w), before, "adopted, not requested");
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(w.client.clone(), &prod_ns);
    let note = eventually("an Adopted Event", WAIT, || async {
        events
            .list(&Default::default())
            .await
            .ok()?
            .into_iter()
            .find(|e| {
                e.reason.as_deref() == Some("Adopted")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name.as_str())
            })?
            .note
    })
    .await;
    assert!(note.contains("approved it"), "{note}");

    let after = ok(&["audit", "-n", &prod_ns]).await;
    assert!(after.contains("Unmanaged: none"), "{after}");
}
