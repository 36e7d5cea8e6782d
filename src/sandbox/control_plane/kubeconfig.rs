//! Kubeconfigs of a sandbox cluster, with their credentials inline so a file works
//! wherever it is copied: the admin's (users, tests, the operator) and the controller
//! manager's.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::pki::ClusterPki;

/// The context, cluster and user name in the kubeconfig.
pub(crate) const CONTEXT: &str = "orglink-sandbox";

/// Renders a kubeconfig for `server` authenticating with the admin client certificate.
pub(crate) fn render(server: &str, pki: &ClusterPki) -> String {
    render_for(
        server,
        pki,
        &format!("{CONTEXT}-admin"),
        &pki.admin_cert,
        &pki.admin_key,
    )
}

/// Renders a kubeconfig for `server`, trusted through `ca_pem` instead of the cluster
/// CA (a proxy in front of the API server), authenticating with the admin certificate.
pub(crate) fn render_via(server: &str, ca_pem: &str, pki: &ClusterPki) -> String {
    render_with_ca(
        server,
        ca_pem,
        &format!("{CONTEXT}-admin"),
        &pki.admin_cert,
        &pki.admin_key,
    )
}

/// Renders a kubeconfig for `server` authenticating with the controller manager's
/// client certificate.
pub(crate) fn render_controller_manager(server: &str, pki: &ClusterPki) -> String {
    render_for(
        server,
        pki,
        "kube-controller-manager",
        &pki.controller_manager_cert,
        &pki.controller_manager_key,
    )
}

fn render_for(server: &str, pki: &ClusterPki, user: &str, cert: &str, key: &str) -> String {
    render_with_ca(server, &pki.ca_cert, user, cert, key)
}

fn render_with_ca(server: &str, ca_pem: &str, user: &str, cert: &str, key: &str) -> String {
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": CONTEXT,
            "cluster": {
                "server": server,
                "certificate-authority-data": STANDARD.encode(ca_pem),
            },
        }],
        "users": [{
            "name": user,
            "user": {
                "client-certificate-data": STANDARD.encode(cert),
                "client-key-data": STANDARD.encode(key),
            },
        }],
        "contexts": [{
            "name": CONTEXT,
            "context": { "cluster": CONTEXT, "user": user, "namespace": "default" },
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
        let kcm = render_controller_manager("https://127.0.0.1:6443", &pki);
        let parsed = kube::config::Kubeconfig::from_yaml(&kcm).unwrap();
        assert_eq!(parsed.auth_infos[0].name, "kube-controller-manager");
        assert_ne!(kcm, yaml);
    }
}
