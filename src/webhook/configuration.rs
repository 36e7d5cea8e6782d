//! The ValidatingWebhookConfiguration: the three kinds only, fail closed, no side
//! effects, 5 s timeout, matchPolicy Equivalent.

use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::{
    RuleWithOperations, ServiceReference, ValidatingWebhook, ValidatingWebhookConfiguration,
    WebhookClientConfig,
};
use kube::api::ObjectMeta;

/// The webhook's name inside the configuration.
pub const WEBHOOK_NAME: &str = "validate.orglink.dev";

/// Where the API server reaches the webhook.
pub enum Endpoint {
    /// A URL, e.g. `https://127.0.0.1:PORT/validate` (the sandbox).
    Url(String),
    /// A Service in the cluster.
    Service {
        namespace: String,
        name: String,
        port: i32,
    },
}

/// Builds the configuration named `name` trusting `ca_pem`.
pub fn validating_webhook_configuration(
    name: &str,
    endpoint: Endpoint,
    ca_pem: &str,
) -> ValidatingWebhookConfiguration {
    let client_config = match endpoint {
        Endpoint::Url(url) => WebhookClientConfig {
            url: Some(url),
            ca_bundle: Some(ByteString(ca_pem.as_bytes().to_vec())),
            ..Default::default()
        },
        Endpoint::Service {
            namespace,
            name,
            port,
        } => WebhookClientConfig {
            service: Some(ServiceReference {
                namespace,
                name,
                path: Some("/validate".into()),
                port: Some(port),
            }),
            ca_bundle: Some(ByteString(ca_pem.as_bytes().to_vec())),
            ..Default::default()
        },
    };
    ValidatingWebhookConfiguration {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..Default::default()
        },
        webhooks: Some(vec![ValidatingWebhook {
            name: WEBHOOK_NAME.into(),
            admission_review_versions: vec!["v1".into()],
            client_config,
            failure_policy: Some("Fail".into()),
            side_effects: "None".into(),
            timeout_seconds: Some(5),
            match_policy: Some("Equivalent".into()),
            rules: Some(vec![RuleWithOperations {
                api_groups: Some(vec![crate::api::GROUP.into()]),
                api_versions: Some(vec!["v1alpha1".into()]),
                operations: Some(vec!["CREATE".into(), "UPDATE".into()]),
                resources: Some(vec![
                    "organizations".into(),
                    "orglinks".into(),
                    "orgpairings".into(),
                ]),
                scope: Some("Namespaced".into()),
            }]),
            ..Default::default()
        }]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_to_the_three_kinds_and_fail_closed() {
        let c = validating_webhook_configuration(
            "x",
            Endpoint::Url("https://127.0.0.1:1/validate".into()),
            "PEM",
        );
        let w = &c.webhooks.unwrap()[0];
        assert_eq!(w.failure_policy.as_deref(), Some("Fail"));
        assert_eq!(w.side_effects, "None");
        assert_eq!(w.timeout_seconds, Some(5));
        assert_eq!(w.match_policy.as_deref(), Some("Equivalent"));
        let rule = &w.rules.as_ref().unwrap()[0];
        assert_eq!(
            rule.api_groups.as_deref(),
            Some(&["orglink.dev".to_string()][..])
        );
        assert_eq!(rule.resources.as_ref().unwrap().len(), 3);
    }
}
