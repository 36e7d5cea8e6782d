//! The admin kubeconfig of a sandbox cluster, with its credentials inline so the
//! file works wherever it is copied.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::pki::ClusterPki;

/// The context, cluster and user name in the kubeconfig.
pub const CONTEXT: &str = "orglink-sandbox";

/// Renders a kubeconfig for `server` authenticating with the admin client certificate.
pub fn render(server: &str, pki: &ClusterPki) -> String {
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": CONTEXT,
            "cluster": {
                "server": server,
                "certificate-authority-data": STANDARD.encode(&pki.ca_cert),
            },
        }],
        "users": [{
            "name": format!("{CONTEXT}-admin"),
            "user": {
                "client-certificate-data": STANDARD.encode(&pki.admin_cert),
                "client-key-data": STANDARD.encode(&pki.admin_key),
            },
        }],
        "contexts": [{
            "name": CONTEXT,
            "context": { "cluster": CONTEXT, "user": format!("{CONTEXT}-admin"), "namespace": "default" },
        }],
        "current-context": CONTEXT,
        "preferences": {},
    });
    serde_yaml::to_string(&doc).expect("a JSON value always renders as YAML")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_parses_and_points_at_the_server() {
        let pki = ClusterPki::generate().unwrap();
        let yaml = render("https://127.0.0.1:6443", &pki);
        let parsed = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
        assert_eq!(parsed.current_context.as_deref(), Some(CONTEXT));
        let cluster = parsed.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:6443"));
    }
}
