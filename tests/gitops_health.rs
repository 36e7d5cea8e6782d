//! What GitOps tools conclude from each phase of the three kinds (docs/api.md,
//! "Health"; README "GitOps health"):
//! - kstatus (Flux): the real library, sigs.k8s.io/cli-utils at the version pinned in
//!   tools/kstatus/go.mod, run over an object of every phase (`scripts/kstatus.sh`
//!   builds the printer; `make tools` runs it), and a pure mirror of its rules for custom
//!   resources with conditions ([`kstatus`]) that must agree with it: Current /
//!   InProgress / Failed.
//! - Argo CD: the Lua health checks shipped in charts/orglink-operator/argocd/, run with
//!   Lua 5.4 (mlua) against the same objects: Healthy / Progressing / Degraded / Suspended.
//!
//! OrgLink statuses come from the real decision and status builders (`lifecycle::link`);
//! the others state the `Ready` condition each phase's builder writes and go through the
//! same `set_with_health`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use k8s_openapi::jiff::Timestamp;
use mlua::Lua;
use orglink_operator::api::conditions::{DesiredCondition, Status, reasons, types};
use orglink_operator::api::{LinkDecision, OrgLinkSpec, OrgLinkStatus, PeerRef, Region};
use orglink_operator::lifecycle::health::set_with_health;
use orglink_operator::lifecycle::link::{self, LinkInput, RemoteLink};
use serde_json::{Value, json};

const GENERATION: i64 = 2;
const PEER: &str = "0b6c4a1e-2d3f-4a5b-8c7d-9e0f1a2b3c4d";

/// kstatus's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KStatus {
    Current,
    InProgress,
    Failed,
    Terminating,
}

impl KStatus {
    /// The name kstatus prints (`status.Status.String()`).
    fn parse(s: &str) -> Option<KStatus> {
        Some(match s {
            "Current" => KStatus::Current,
            "InProgress" => KStatus::InProgress,
            "Failed" => KStatus::Failed,
            "Terminating" => KStatus::Terminating,
            _ => return None,
        })
    }
}

/// sigs.k8s.io/cli-utils kstatus (`status.Compute`) for a custom resource: a
/// `deletionTimestamp` is Terminating; an `observedGeneration` other than
/// `metadata.generation` is InProgress; then the first of `Reconciling`=True
/// (InProgress) or `Stalled`=True (Failed) in list order; then `Ready`: True is
/// Current, False or Unknown InProgress; no verdict so far is Current.
/// [`the_real_kstatus_agrees_with_the_docs_and_the_mirror`] holds it to the library.
fn kstatus(obj: &Value) -> KStatus {
    if obj["metadata"]["deletionTimestamp"]
        .as_str()
        .is_some_and(|t| !t.is_empty())
    {
        return KStatus::Terminating;
    }
    let status = &obj["status"];
    if let (Some(generation), Some(observed)) = (
        obj["metadata"]["generation"].as_i64(),
        status["observedGeneration"].as_i64(),
    ) && observed != generation
    {
        return KStatus::InProgress;
    }
    let conditions = status["conditions"].as_array().cloned().unwrap_or_default();
    for c in &conditions {
        match (c["type"].as_str(), c["status"].as_str()) {
            (Some("Reconciling"), Some("True")) => return KStatus::InProgress,
            (Some("Stalled"), Some("True")) => return KStatus::Failed,
            _ => {}
        }
    }
    let ready = conditions.iter().find(|c| c["type"] == "Ready");
    match ready.and_then(|c| c["status"].as_str()) {
        Some("False" | "Unknown") => KStatus::InProgress,
        _ => KStatus::Current,
    }
}

/// The kstatus printer built from tools/kstatus (`scripts/kstatus.sh --check`), or
/// `$KSTATUS`; the test fails with the fix when it is not built.
fn kstatus_printer() -> PathBuf {
    if let Some(path) = std::env::var_os("KSTATUS").filter(|p| !p.is_empty()) {
        return path.into();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kstatus.sh");
    let out = Command::new(&script)
        .arg("--check")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "the kstatus printer is not built yet: run `make tools` (builds tools/kstatus on the \
         sigs.k8s.io/cli-utils pinned in its go.mod, from the Go module proxy, once), or set \
         KSTATUS to a built one. {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).trim().into()
}

/// The real kstatus's verdict and message for each of `objects`, in order.
fn real_kstatus(objects: &[&Value]) -> Vec<(KStatus, String)> {
    let mut child = Command::new(kstatus_printer())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running the kstatus printer");
    {
        let mut stdin = child.stdin.take().unwrap();
        for obj in objects {
            serde_json::to_writer(&mut stdin, obj).unwrap();
            stdin.write_all(b"\n").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kstatus printer: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<(KStatus, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            let status = v["status"].as_str().unwrap();
            let k = KStatus::parse(status).unwrap_or_else(|| panic!("kstatus said {status}"));
            (k, v["message"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    assert_eq!(verdicts.len(), objects.len(), "one verdict per object");
    verdicts
}

/// `hs.status` and `hs.message` of the Argo CD health script for `obj`'s kind.
fn argo(obj: &Value) -> (String, String) {
    let kind = obj["kind"].as_str().unwrap().to_lowercase();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("charts/orglink-operator/argocd")
        .join(format!("{kind}.lua"));
    let script = std::fs::read_to_string(&path).unwrap();
    let lua = Lua::new();
    lua.globals().set("obj", to_lua(&lua, obj)).unwrap();
    let hs: mlua::Table = lua
        .load(&script)
        .set_name(path.display().to_string())
        .eval()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (hs.get("status").unwrap(), hs.get("message").unwrap())
}

/// JSON as Argo CD hands it to Lua: objects and arrays as tables, null as nil.
fn to_lua(lua: &Lua, v: &Value) -> mlua::Value {
    match v {
        Value::Null => mlua::Value::Nil,
        Value::Bool(b) => mlua::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => mlua::Value::Integer(i),
            None => mlua::Value::Number(n.as_f64().unwrap()),
        },
        Value::String(s) => mlua::Value::String(lua.create_string(s).unwrap()),
        Value::Array(items) => {
            let t = lua.create_table().unwrap();
            for (i, item) in items.iter().enumerate() {
                t.set(i + 1, to_lua(lua, item)).unwrap();
            }
            mlua::Value::Table(t)
        }
        Value::Object(map) => {
            let t = lua.create_table().unwrap();
            for (k, item) in map {
                t.set(k.as_str(), to_lua(lua, item)).unwrap();
            }
            mlua::Value::Table(t)
        }
    }
}

fn now() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap()
}

fn object(kind: &str, status: Value) -> Value {
    json!({
        "apiVersion": "orglink.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": "sample", "namespace": "team-a", "generation": GENERATION},
        "status": status,
    })
}

/// An object of `kind` in `phase` whose builder decided `conditions`.
fn decided(kind: &str, phase: Option<&str>, conditions: &[DesiredCondition]) -> Value {
    let mut written = Vec::new();
    set_with_health(&mut written, conditions, Some(GENERATION), now());
    let mut status = json!({"observedGeneration": GENERATION, "conditions": written});
    if let Some(phase) = phase {
        status["phase"] = json!(phase);
    }
    object(kind, status)
}

fn ready(status: Status, reason: &'static str) -> DesiredCondition {
    DesiredCondition::new(types::READY, status, reason, format!("sample {reason}"))
}

fn link_spec(decision: LinkDecision, attempt: i64) -> OrgLinkSpec {
    OrgLinkSpec {
        organization_ref: "acme-prod".into(),
        peer: PeerRef {
            organization_id: PEER.into(),
            region: Region::UsEast1,
        },
        decision,
        attempt,
    }
}

/// An OrgLink as the controller writes it after deciding `remote` from `prev`.
fn link_after(decision: LinkDecision, prev: Option<&OrgLinkStatus>, remote: RemoteLink) -> Value {
    let spec = link_spec(decision, 0);
    let d = link::decide(LinkInput {
        spec: &spec,
        status: prev,
        remote,
        local_peer: None,
    });
    link_object(prev, &d)
}

fn link_object(prev: Option<&OrgLinkStatus>, d: &link::LinkDecisionOut) -> Value {
    let status = link::next_status(prev, d, None, Some(GENERATION), now());
    object("OrgLink", serde_json::to_value(status).unwrap())
}

fn link_status(phase: orglink_operator::api::OrgLinkPhase) -> OrgLinkStatus {
    OrgLinkStatus {
        phase: Some(phase),
        observed_attempt: Some(0),
        ..Default::default()
    }
}

/// (what, object, kstatus verdict, Argo CD status)
fn samples() -> Vec<(&'static str, Value, KStatus, &'static str)> {
    use KStatus::*;
    use orglink_operator::api::OrgLinkPhase as P;
    let waiting = link_status(P::WaitingForConfirmation);
    let linked = link_status(P::Linked);
    let mut out = vec![
        // Organization: Ready's reasons (docs/api.md).
        (
            "Organization Connected",
            decided(
                "Organization",
                None,
                &[ready(Status::True, reasons::CONNECTED)],
            ),
            Current,
            "Healthy",
        ),
    ];
    for (reason, k, a) in [
        (reasons::CREDENTIALS_MISSING, InProgress, "Progressing"),
        (reasons::API_UNAVAILABLE, InProgress, "Progressing"),
        (reasons::RATE_LIMITED, InProgress, "Progressing"),
        (reasons::INTERNAL_ERROR, InProgress, "Progressing"),
        (reasons::CREDENTIALS_REJECTED, Failed, "Degraded"),
        (reasons::CREDENTIALS_SECRET_NOT_LABELED, Failed, "Degraded"),
        (reasons::API_BASE_URL_NOT_ALLOWED, Failed, "Degraded"),
        (reasons::REGION_MISMATCH, Failed, "Degraded"),
    ] {
        out.push((
            reason,
            decided("Organization", None, &[ready(Status::False, reason)]),
            k,
            a,
        ));
    }
    // OrgLink: every phase from the real builders.
    out.extend([
        (
            "OrgLink WaitingForConfirmation",
            link_after(LinkDecision::Accept, None, RemoteLink::None),
            InProgress,
            "Progressing",
        ),
        (
            "OrgLink Linked",
            link_after(
                LinkDecision::Accept,
                Some(&waiting),
                RemoteLink::IncomingPending,
            ),
            Current,
            "Healthy",
        ),
        (
            "OrgLink Declined",
            link_after(LinkDecision::Decline, None, RemoteLink::None),
            Current,
            "Healthy",
        ),
        (
            "OrgLink RejectedByPeer",
            link_after(
                LinkDecision::Accept,
                Some(&waiting),
                RemoteLink::OutgoingRejected,
            ),
            Failed,
            "Degraded",
        ),
        (
            "OrgLink UnlinkedByPeer",
            link_after(LinkDecision::Accept, Some(&linked), RemoteLink::None),
            Failed,
            "Degraded",
        ),
        (
            "OrgLink Requesting (Organization not Ready)",
            link_object(
                None,
                &link::organization_not_ready(None, "not Ready", false),
            ),
            InProgress,
            "Progressing",
        ),
        (
            "OrgLink Requesting (Organization Stalled)",
            link_object(
                None,
                &link::organization_not_ready(None, "CredentialsRejected", true),
            ),
            Failed,
            "Degraded",
        ),
        (
            "OrgLink Error (ApiError)",
            link_object(None, &link::api_error(None, "503")),
            InProgress,
            "Progressing",
        ),
        (
            "OrgLink Error (Conflict)",
            link_object(None, &link::conflict(None, "older one acts")),
            Failed,
            "Degraded",
        ),
    ]);
    // OrgPairing: the phases with the Ready (and Authorized) conditions the trustee and
    // trustor builders write.
    let authorized = |s, r| DesiredCondition::new(types::AUTHORIZED, s, r, format!("sample {r}"));
    for (what, phase, conditions, k, a) in [
        (
            "OrgPairing WaitingForConfirmation",
            "WaitingForConfirmation",
            vec![
                authorized(Status::False, reasons::WAITING_FOR_CONFIRMATION),
                ready(Status::Unknown, reasons::WAITING_FOR_CONFIRMATION),
            ],
            InProgress,
            "Progressing",
        ),
        (
            "OrgPairing Authorized (trustee)",
            "Authorized",
            vec![
                authorized(Status::True, reasons::AUTHORIZED),
                ready(Status::True, reasons::AUTHORIZED),
            ],
            Current,
            "Healthy",
        ),
        (
            "OrgPairing Authorized (trustor, roles assigned)",
            "Authorized",
            vec![
                authorized(Status::True, reasons::AUTHORIZED),
                DesiredCondition::new(
                    types::ROLES_ASSIGNED,
                    Status::True,
                    reasons::ROLES_ASSIGNED,
                    "ok",
                ),
                ready(Status::True, reasons::UP_TO_DATE),
            ],
            Current,
            "Healthy",
        ),
        (
            "OrgPairing Authorized (trustor, unknown role)",
            "Authorized",
            vec![
                authorized(Status::True, reasons::AUTHORIZED),
                DesiredCondition::new(
                    types::ROLES_ASSIGNED,
                    Status::False,
                    reasons::UNKNOWN_ROLE,
                    "no role Nope",
                ),
                ready(Status::False, reasons::UNKNOWN_ROLE),
            ],
            Failed,
            "Degraded",
        ),
        (
            "OrgPairing Disabled (trustor, by spec)",
            "Disabled",
            vec![
                authorized(Status::False, reasons::DISABLED),
                ready(Status::True, reasons::UP_TO_DATE),
            ],
            Current,
            "Suspended",
        ),
        (
            "OrgPairing Disabled (trustee, by the peer)",
            "Disabled",
            vec![
                authorized(Status::False, reasons::DISABLED),
                ready(Status::False, reasons::DISABLED),
            ],
            Failed,
            "Suspended",
        ),
        (
            "OrgPairing Revoked",
            "Revoked",
            vec![
                authorized(Status::False, reasons::REVOKED),
                ready(Status::False, reasons::REVOKED),
            ],
            Failed,
            "Degraded",
        ),
        (
            "OrgPairing Expired",
            "Expired",
            vec![
                authorized(Status::False, reasons::EXPIRED),
                ready(Status::False, reasons::EXPIRED),
            ],
            Failed,
            "Degraded",
        ),
        (
            "OrgPairing Error (PairingNotFound)",
            "Error",
            vec![
                authorized(Status::False, reasons::PAIRING_NOT_FOUND),
                ready(Status::False, reasons::PAIRING_NOT_FOUND),
            ],
            Failed,
            "Degraded",
        ),
        (
            "OrgPairing Error (PairingFromOtherOrganization)",
            "Error",
            vec![
                authorized(Status::False, reasons::PAIRING_FROM_OTHER_ORGANIZATION),
                ready(Status::False, reasons::PAIRING_FROM_OTHER_ORGANIZATION),
            ],
            Failed,
            "Degraded",
        ),
        (
            "OrgPairing Requesting (Organization not Ready)",
            "Requesting",
            vec![ready(Status::False, reasons::ORGANIZATION_NOT_READY)],
            InProgress,
            "Progressing",
        ),
        (
            "OrgPairing Error (ApiError)",
            "Error",
            vec![ready(Status::False, reasons::API_ERROR)],
            InProgress,
            "Progressing",
        ),
        (
            "OrgPairing Error (Conflict)",
            "Error",
            vec![ready(Status::False, reasons::CONFLICT)],
            Failed,
            "Degraded",
        ),
        (
            "OrgPairing CleanupFailed",
            "Authorized",
            vec![ready(Status::False, reasons::CLEANUP_FAILED)],
            InProgress,
            "Progressing",
        ),
    ] {
        out.push((what, decided("OrgPairing", Some(phase), &conditions), k, a));
    }
    out
}

#[test]
fn kstatus_reads_every_phase_as_documented() {
    for (what, obj, want, _) in samples() {
        assert_eq!(kstatus(&obj), want, "{what}: {obj:#}");
    }
}

#[test]
fn argo_cd_reads_every_phase_as_documented() {
    for (what, obj, _, want) in samples() {
        let (status, message) = argo(&obj);
        assert_eq!(status, want, "{what}: {message}");
        assert!(!message.is_empty(), "{what}: a message says why");
    }
}

#[test]
fn the_stalled_reason_and_message_reach_argo_cd() {
    let obj = link_after(
        LinkDecision::Accept,
        Some(&link_status(
            orglink_operator::api::OrgLinkPhase::WaitingForConfirmation,
        )),
        RemoteLink::OutgoingRejected,
    );
    let (status, message) = argo(&obj);
    assert_eq!(status, "Degraded");
    assert!(message.starts_with("RejectedByPeer: "), "{message}");
    assert!(message.contains("increase spec.attempt"), "{message}");
}

/// A spec change the operator has not seen yet is in progress for both, whatever the
/// conditions from the previous generation say; no status at all is Progressing for
/// Argo CD (kstatus calls it Current, which is why the operator writes status on the
/// first reconcile).
#[test]
fn an_unobserved_generation_is_in_progress() {
    for kind in ["Organization", "OrgLink", "OrgPairing"] {
        let mut obj = decided(kind, None, &[ready(Status::True, reasons::CONNECTED)]);
        obj["metadata"]["generation"] = json!(GENERATION + 1);
        assert_eq!(kstatus(&obj), KStatus::InProgress, "{kind}");
        assert_eq!(argo(&obj).0, "Progressing", "{kind}");
        let fresh = object(kind, Value::Null);
        assert_eq!(argo(&fresh).0, "Progressing", "{kind}");
    }
}

/// Every condition the builders write carries the generation it was decided for.
#[test]
fn every_condition_carries_the_observed_generation() {
    for (what, obj, _, _) in samples() {
        for c in obj["status"]["conditions"].as_array().unwrap() {
            assert_eq!(c["observedGeneration"], json!(GENERATION), "{what}: {c}");
        }
        let types: Vec<&str> = obj["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["type"].as_str())
            .collect();
        for t in ["Ready", "Reconciling", "Stalled"] {
            assert!(types.contains(&t), "{what}: {t} missing from {types:?}");
        }
    }
}

/// The real kstatus (sigs.k8s.io/cli-utils v0.37.2 `status.Compute`) over an object of
/// every phase of the three kinds gives the verdict docs/api.md documents, and so does
/// the mirror above; plus the edges: a generation not yet observed, an object with no
/// status yet, one being deleted.
#[test]
fn the_real_kstatus_agrees_with_the_docs_and_the_mirror() {
    let mut cases: Vec<(String, Value, KStatus)> = samples()
        .into_iter()
        .map(|(what, obj, want, _)| (what.to_string(), obj, want))
        .collect();
    for kind in ["Organization", "OrgLink", "OrgPairing"] {
        let mut unobserved = decided(kind, None, &[ready(Status::True, reasons::CONNECTED)]);
        unobserved["metadata"]["generation"] = json!(GENERATION + 1);
        cases.push((
            format!("{kind} with a spec change not yet observed"),
            unobserved,
            KStatus::InProgress,
        ));
        cases.push((
            format!("{kind} with no status yet"),
            object(kind, Value::Null),
            KStatus::Current,
        ));
        let mut deleting = decided(kind, None, &[ready(Status::False, reasons::CLEANUP_FAILED)]);
        deleting["metadata"]["deletionTimestamp"] = json!("2027-01-15T08:00:00Z");
        cases.push((
            format!("{kind} being deleted (CleanupFailed)"),
            deleting,
            KStatus::Terminating,
        ));
    }
    let objects: Vec<&Value> = cases.iter().map(|(_, obj, _)| obj).collect();
    let verdicts = real_kstatus(&objects);
    let mut wrong = Vec::new();
    for ((what, obj, want), (got, message)) in cases.iter().zip(&verdicts) {
        if got != want {
            wrong.push(format!(
                "{what}: kstatus says {got:?} ({message}), docs say {want:?}"
            ));
        }
        if kstatus(obj) != *got {
            wrong.push(format!(
                "{what}: the mirror says {:?}, kstatus {got:?}",
                kstatus(obj)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(verdicts.len(), 32 + 9, "every sample was judged");
}

/// What kstatus reports for a Failed object is the `Stalled` condition's message, so a
/// Flux Kustomization that fails on it shows the operator's reason instead of a timeout.
#[test]
fn the_real_kstatus_reports_the_stalled_message() {
    let obj = link_after(
        LinkDecision::Accept,
        Some(&link_status(
            orglink_operator::api::OrgLinkPhase::WaitingForConfirmation,
        )),
        RemoteLink::OutgoingRejected,
    );
    let (got, message) = real_kstatus(&[&obj]).remove(0);
    assert_eq!(got, KStatus::Failed);
    assert!(message.contains("increase spec.attempt"), "{message}");
}
