//! `orglink-operator webhook-certs`: in-cluster certificate bootstrap when cert-manager
//! is not used. Reuses the CA and serving certificate stored in a Secret when they fit
//! the Service's DNS names (so replicas and restarts agree), creates them otherwise,
//! makes the ValidatingWebhookConfiguration trust that CA (writing only when it differs,
//! so a GitOps tool sees no churn), and writes `tls.crt`/`tls.key` for the server.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};

use super::certs::{WebhookCerts, service_dns_names};

/// Annotation recording the DNS names a stored certificate was made for.
pub(crate) const DNS_NAMES_ANNOTATION: &str = "orglink.dev/dns-names";

/// The stored certificates, if the Secret holds a complete set for `dns_names`.
pub(crate) fn reusable(secret: &Secret, dns_names: &[String]) -> Option<WebhookCerts> {
    let annotations = secret.metadata.annotations.as_ref()?;
    if annotations.get(DNS_NAMES_ANNOTATION)? != &dns_names.join(",") {
        return None;
    }
    let data = secret.data.as_ref()?;
    let text = |k: &str| -> Option<String> {
        let v = String::from_utf8(data.get(k)?.0.clone()).ok()?;
        (!v.trim().is_empty()).then_some(v)
    };
    Some(WebhookCerts {
        ca_cert: text("ca.crt")?,
        cert: text("tls.crt")?,
        key: text("tls.key")?,
    })
}

/// The Secret storing `certs` for `dns_names`.
pub(crate) fn secret_for(
    name: &str,
    namespace: &str,
    certs: &WebhookCerts,
    dns_names: &[String],
) -> Secret {
    let bytes = |s: &str| ByteString(s.as_bytes().to_vec());
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            annotations: Some(BTreeMap::from([(
                DNS_NAMES_ANNOTATION.to_string(),
                dns_names.join(","),
            )])),
            ..Default::default()
        },
        type_: Some("kubernetes.io/tls".to_string()),
        data: Some(BTreeMap::from([
            ("ca.crt".to_string(), bytes(&certs.ca_cert)),
            ("tls.crt".to_string(), bytes(&certs.cert)),
            ("tls.key".to_string(), bytes(&certs.key)),
        ])),
        ..Default::default()
    }
}

/// A strategic merge patch setting the caBundle of every webhook of `config` whose
/// caBundle is not `ca_pem` (webhooks are merged by `name`, so nothing else is
/// touched), or `None` when all of them already trust it.
///
/// A patch, not a replace: the chart grants `get` and `patch` on this one
/// configuration, and a patch cannot undo a concurrent change to another field.
pub(crate) fn ca_bundle_patch(
    config: &ValidatingWebhookConfiguration,
    ca_pem: &str,
) -> Option<serde_json::Value> {
    let wanted = ByteString(ca_pem.as_bytes().to_vec());
    let stale: Vec<serde_json::Value> = config
        .webhooks
        .iter()
        .flatten()
        .filter(|w| w.client_config.ca_bundle.as_ref() != Some(&wanted))
        .map(|w| {
            serde_json::json!({
                "name": w.name,
                "clientConfig": { "caBundle": wanted },
            })
        })
        .collect();
    (!stale.is_empty()).then(|| serde_json::json!({ "webhooks": stale }))
}

/// Where and what to bootstrap.
pub struct Bootstrap<'a> {
    pub secret_name: &'a str,
    pub secret_namespace: &'a str,
    pub service_name: &'a str,
    pub service_namespace: &'a str,
    pub webhook_config_name: &'a str,
    pub cert_dir: &'a Path,
}

/// Runs the bootstrap (idempotent).
pub async fn run(client: kube::Client, b: Bootstrap<'_>) -> anyhow::Result<()> {
    let dns_names = service_dns_names(b.service_name, b.service_namespace);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), b.secret_namespace);
    let existing = secrets
        .get_opt(b.secret_name)
        .await
        .context("reading the webhook Secret")?;
    let certs = match existing.as_ref().and_then(|s| reusable(s, &dns_names)) {
        Some(certs) => certs,
        None => {
            let fresh = WebhookCerts::generate(&dns_names, &[])?;
            let secret = secret_for(b.secret_name, b.secret_namespace, &fresh, &dns_names);
            let written = match existing {
                None => secrets.create(&PostParams::default(), &secret).await,
                Some(old) => {
                    let mut secret = secret;
                    secret.metadata.resource_version = old.metadata.resource_version;
                    secrets
                        .replace(b.secret_name, &PostParams::default(), &secret)
                        .await
                }
            };
            match written {
                Ok(_) => fresh,
                // Another replica wrote first: use what it stored.
                Err(kube::Error::Api(e)) if e.code == 409 => {
                    let theirs = secrets.get(b.secret_name).await?;
                    reusable(&theirs, &dns_names)
                        .context("the webhook Secret written by another replica is incomplete")?
                }
                Err(e) => return Err(e).context("writing the webhook Secret"),
            }
        }
    };
    let configs: Api<ValidatingWebhookConfiguration> = Api::all(client);
    let config = configs.get(b.webhook_config_name).await.with_context(|| {
        format!(
            "reading ValidatingWebhookConfiguration {}",
            b.webhook_config_name
        )
    })?;
    if let Some(patch) = ca_bundle_patch(&config, &certs.ca_cert) {
        configs
            .patch(
                b.webhook_config_name,
                &PatchParams::default(),
                &Patch::Strategic(patch),
            )
            .await
            .context("patching the caBundle")?;
    }
    certs.write_to(b.cert_dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_set_is_reused_only_for_the_same_names() {
        let names = service_dns_names("orglink", "ops");
        let certs = WebhookCerts::generate(&names, &[]).unwrap();
        let secret = secret_for("s", "ops", &certs, &names);
        let again = reusable(&secret, &names).expect("reused");
        assert_eq!(again.ca_cert, certs.ca_cert);
        assert!(reusable(&secret, &service_dns_names("orglink", "other")).is_none());
    }

    #[test]
    fn the_ca_bundle_is_patched_only_when_it_differs_and_nothing_else_is() {
        let config = |ca: &str| {
            super::super::configuration::validating_webhook_configuration(
                "x",
                super::super::configuration::Endpoint::Service {
                    namespace: "ops".into(),
                    name: "orglink".into(),
                    port: 443,
                },
                ca,
            )
        };
        let old = config("OLD");
        let patch = ca_bundle_patch(&old, "NEW").expect("a patch");
        let webhooks = patch["webhooks"].as_array().unwrap();
        assert_eq!(webhooks.len(), old.webhooks.as_ref().unwrap().len());
        for (sent, have) in webhooks.iter().zip(old.webhooks.iter().flatten()) {
            // Only the merge key and the caBundle (base64 of the PEM) are sent.
            assert_eq!(sent["name"], have.name.as_str());
            assert_eq!(
                sent["clientConfig"],
                serde_json::json!({ "caBundle": "TkVX" })
            );
            assert_eq!(sent.as_object().unwrap().len(), 2);
        }
        assert!(ca_bundle_patch(&config("NEW"), "NEW").is_none());
    }
}
