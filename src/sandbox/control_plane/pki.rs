//! The sandbox cluster's certificates, made fresh at every start.
//!
//! Like envtest, the control plane gets a throw-away CA that signs the API
//! server's serving certificate and an admin client certificate in
//! `system:masters`, plus a key pair for signing service-account tokens. The
//! controller manager gets its own client certificate as `system:kube-controller-manager`
//! (the identity the API server's bootstrap RBAC grants what it needs, as in a kubeadm
//! cluster, rather than the admin's `system:masters`) and a serving certificate for its
//! `/healthz`. Nothing is reused between runs, so no sandbox ever trusts another one's
//! credentials.

use std::net::{IpAddr, Ipv4Addr};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// PEM files of one sandbox cluster.
#[derive(Clone)]
pub(crate) struct ClusterPki {
    /// CA certificate: trusted by clients (kubeconfig) and by the API server for
    /// client certificates.
    pub(crate) ca_cert: String,
    /// The API server's serving certificate and key.
    pub(crate) serving_cert: String,
    pub(crate) serving_key: String,
    /// The admin client certificate (`CN=orglink-sandbox-admin`, `O=system:masters`).
    pub(crate) admin_cert: String,
    pub(crate) admin_key: String,
    /// The controller manager's client certificate (`CN=system:kube-controller-manager`).
    pub(crate) controller_manager_cert: String,
    pub(crate) controller_manager_key: String,
    /// The controller manager's serving certificate (127.0.0.1), so its `/healthz` is
    /// probed with the cluster CA instead of an unverified connection.
    pub(crate) controller_manager_serving_cert: String,
    pub(crate) controller_manager_serving_key: String,
    /// Private key signing service-account tokens (its public half verifies them).
    pub(crate) service_account_key: String,
    pub(crate) service_account_public_key: String,
}

impl std::fmt::Debug for ClusterPki {
    /// Key material stays out of logs: only the certificates' presence is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterPki").finish_non_exhaustive()
    }
}

/// The user name the API server's bootstrap RBAC binds to the controller manager's role.
pub(crate) const CONTROLLER_MANAGER_USER: &str = "system:kube-controller-manager";

/// The service IP of `kubernetes.default` for `--service-cluster-ip-range=10.0.0.0/24`.
pub(crate) const KUBERNETES_SERVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

impl ClusterPki {
    /// Generates a CA and, signed by it, the serving and client certificates.
    pub(crate) fn generate() -> Result<Self, rcgen::Error> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.distinguished_name = name("orglink-sandbox-ca", None);
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

        let mut serving = CertificateParams::new(vec![
            "localhost".to_string(),
            "kubernetes".to_string(),
            "kubernetes.default".to_string(),
            "kubernetes.default.svc".to_string(),
            "kubernetes.default.svc.cluster.local".to_string(),
        ])?;
        serving.subject_alt_names.extend([
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            SanType::IpAddress(IpAddr::V4(KUBERNETES_SERVICE_IP)),
        ]);
        serving.distinguished_name = name("kube-apiserver", None);
        serving.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let serving_key = KeyPair::generate()?;
        let serving_cert = serving.signed_by(&serving_key, &ca)?;

        let (admin_cert, admin_key) =
            client_cert(&ca, "orglink-sandbox-admin", Some("system:masters"))?;

        let (controller_manager_cert, controller_manager_key) =
            client_cert(&ca, CONTROLLER_MANAGER_USER, None)?;

        let mut kcm_serving = CertificateParams::new(vec!["localhost".to_string()])?;
        kcm_serving
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        kcm_serving.distinguished_name = name("kube-controller-manager", None);
        kcm_serving.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        kcm_serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let kcm_serving_key = KeyPair::generate()?;
        let kcm_serving_cert = kcm_serving.signed_by(&kcm_serving_key, &ca)?;

        let service_account = KeyPair::generate()?;

        Ok(Self {
            ca_cert: ca.pem(),
            serving_cert: serving_cert.pem(),
            serving_key: serving_key.serialize_pem(),
            admin_cert,
            admin_key,
            controller_manager_cert,
            controller_manager_key,
            controller_manager_serving_cert: kcm_serving_cert.pem(),
            controller_manager_serving_key: kcm_serving_key.serialize_pem(),
            service_account_key: service_account.serialize_pem(),
            service_account_public_key: service_account.public_key_pem(),
        })
    }
}

/// A client certificate (PEM) and its key for `user` in `group`, signed by `ca`.
fn client_cert(
    ca: &Issuer<'_, KeyPair>,
    user: &str,
    group: Option<&str>,
) -> Result<(String, String), rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = name(user, group);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, ca)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn name(common_name: &str, organization: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    if let Some(org) = organization {
        dn.push(DnType::OrganizationName, org);
    }
    dn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_distinct_pem_material() {
        let pki = ClusterPki::generate().unwrap();
        assert!(pki.ca_cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pki.serving_key.contains("PRIVATE KEY"));
        assert!(pki.service_account_public_key.contains("PUBLIC KEY"));
        assert_ne!(pki.serving_key, pki.admin_key);
        assert_ne!(pki.admin_key, pki.controller_manager_key);
        assert_ne!(pki.serving_key, pki.controller_manager_serving_key);
        let other = ClusterPki::generate().unwrap();
        assert_ne!(pki.ca_cert, other.ca_cert, "each start has its own CA");
        assert!(!format!("{pki:?}").contains("PRIVATE"));
    }
}
