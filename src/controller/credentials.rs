//! Which Secret an Organization may use, and reading its two keys.
//!
//! A namespace user may point `spec.credentialsSecretRef` at any Secret of the
//! namespace: a database password, a TLS key. The operator only uses a Secret that its
//! owner marked for it with the label `orglink.dev/credentials: "true"`, so an ordinary
//! Secret is never read into the operator, let alone sent anywhere:
//!
//! 1. the Secret's metadata is read first (`get` of the metadata only); without the
//!    label the Organization is not Ready, reason `CredentialsSecretNotLabeled`, and the
//!    Secret's data is never fetched;
//! 2. only then is the Secret read, and of its data only the two keys named by
//!    `spec.credentialsSecretRef` are looked at.
//!
//! The controllers watch Secrets as metadata only, and only those with the label
//! ([`SECRET_SELECTOR`]), so no Secret body is cached in the operator.

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::core::ObjectMeta;

use crate::api::CREDENTIALS_LABEL;
use crate::api::conditions::reasons;
use crate::api::organization::CredentialsSecretRef;

/// The label selector of the Secrets the operator may read.
pub(crate) const SECRET_SELECTOR: &str = "orglink.dev/credentials=true";

/// Why the Organization cannot be used, as a `Ready` reason and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NotReady {
    pub(crate) reason: &'static str,
    pub(crate) message: String,
}

/// The client ID and secret, read from a labelled Secret.
pub(crate) struct ClientCredentials {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
}

/// Whether `meta` carries `orglink.dev/credentials: "true"`.
pub(crate) fn is_marked(meta: &ObjectMeta) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(CREDENTIALS_LABEL))
        .is_some_and(|v| v == "true")
}

/// The `Ready` message for a Secret without the label.
pub(crate) fn not_marked(namespace: &str, name: &str) -> NotReady {
    NotReady {
        reason: reasons::CREDENTIALS_SECRET_NOT_LABELED,
        message: format!(
            "Secret {namespace}/{name} (spec.credentialsSecretRef.name) does not carry the label {CREDENTIALS_LABEL}: \"true\", so the operator does not read it; label it if it holds this org's OAuth client: kubectl label secret -n {namespace} {name} {CREDENTIALS_LABEL}=true"
        ),
    }
}

/// Reads the two keys of the Organization's Secret, after checking its label.
pub(crate) async fn read(
    client: &kube::Client,
    namespace: &str,
    secret_ref: &CredentialsSecretRef,
) -> Result<ClientCredentials, NotReady> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let unavailable = |e: kube::Error| NotReady {
        reason: reasons::API_UNAVAILABLE,
        message: format!("cannot read Secret {namespace}/{}: {e}", secret_ref.name),
    };
    let missing = || NotReady {
        reason: reasons::CREDENTIALS_MISSING,
        message: format!(
            "Secret {namespace}/{} (spec.credentialsSecretRef.name) not found; create it with keys {} and {} and the label {CREDENTIALS_LABEL}: \"true\"",
            secret_ref.name, secret_ref.client_id_key, secret_ref.client_secret_key
        ),
    };
    let meta = secrets
        .get_metadata_opt(&secret_ref.name)
        .await
        .map_err(unavailable)?
        .ok_or_else(missing)?;
    if !is_marked(&meta.metadata) {
        return Err(not_marked(namespace, &secret_ref.name));
    }
    let secret = secrets
        .get_opt(&secret_ref.name)
        .await
        .map_err(unavailable)?
        .ok_or_else(missing)?;
    // The label may have been removed between the two reads.
    if !is_marked(&secret.metadata) {
        return Err(not_marked(namespace, &secret_ref.name));
    }
    Ok(ClientCredentials {
        client_id: key(&secret, namespace, secret_ref, &secret_ref.client_id_key)?,
        client_secret: key(
            &secret,
            namespace,
            secret_ref,
            &secret_ref.client_secret_key,
        )?,
    })
}

/// One key of the Secret, trimmed and non-empty.
fn key(
    secret: &Secret,
    namespace: &str,
    secret_ref: &CredentialsSecretRef,
    field: &str,
) -> Result<String, NotReady> {
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(field))
        .map(|b| b.0.clone())
        .or_else(|| {
            secret
                .string_data
                .as_ref()
                .and_then(|d| d.get(field))
                .map(|s| s.clone().into_bytes())
        })
        .unwrap_or_default();
    let text = String::from_utf8(bytes).unwrap_or_default();
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(NotReady {
            reason: reasons::CREDENTIALS_MISSING,
            message: format!(
                "Secret {namespace}/{} has no non-empty key {field}; add it (the key name is set by spec.credentialsSecretRef)",
                secret_ref.name
            ),
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn meta(labels: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn only_the_label_with_value_true_marks_a_secret() {
        assert!(is_marked(&meta(&[(CREDENTIALS_LABEL, "true")])));
        for labels in [
            vec![],
            vec![(CREDENTIALS_LABEL, "True")],
            vec![(CREDENTIALS_LABEL, "yes")],
            vec![(CREDENTIALS_LABEL, "")],
            vec![("orglink.dev/credential", "true")],
        ] {
            assert!(!is_marked(&meta(&labels)), "{labels:?}");
        }
        assert!(!is_marked(&ObjectMeta::default()));
    }

    #[test]
    fn the_message_names_the_field_the_label_and_the_fix() {
        let n = not_marked("tenant", "db");
        assert_eq!(n.reason, "CredentialsSecretNotLabeled");
        for needle in [
            "tenant/db",
            "spec.credentialsSecretRef.name",
            "kubectl label secret -n tenant db orglink.dev/credentials=true",
        ] {
            assert!(n.message.contains(needle), "{needle}: {}", n.message);
        }
        assert_eq!(SECRET_SELECTOR, format!("{CREDENTIALS_LABEL}=true"));
    }
}
