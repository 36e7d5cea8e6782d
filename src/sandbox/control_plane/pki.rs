//! The sandbox cluster's certificates, made fresh at every start.
//!
//! Like envtest, the control plane gets a throw-away CA that signs the API
//! server's serving certificate and an admin client certificate in
//! `system:masters`, plus a key pair for signing service-account tokens. Nothing
//! is reused between runs, so no sandbox ever trusts another one's credentials.

use std::net::{IpAddr, Ipv4Addr};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType,
};

/// PEM files of one sandbox cluster.
#[derive(Clone)]
pub struct ClusterPki {
    /// CA certificate: trusted by clients (kubeconfig) and by the API server for
    /// client certificates.
    pub ca_cert: String,
    /// The API server's serving certificate and key.
    pub serving_cert: String,
    pub serving_key: String,
    /// The admin client certificate (`CN=orglink-sandbox-admin`, `O=system:masters`).
    pub admin_cert: String,
    pub admin_key: String,
    /// Private key signing service-account tokens (its public half verifies them).
    pub service_account_key: String,
    pub service_account_public_key: String,
}

impl std::fmt::Debug for ClusterPki {
    /// Key material stays out of logs: only the certificates' presence is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterPki").finish_non_exhaustive()
    }
}

/// The service IP of `kubernetes.default` for `--service-cluster-ip-range=10.0.0.0/24`.
pub const KUBERNETES_SERVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

impl ClusterPki {
    /// Generates a CA and, signed by it, the serving and admin certificates.
    pub fn generate() -> Result<Self, rcgen::Error> {
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

        let mut admin = CertificateParams::new(Vec::<String>::new())?;
        admin.distinguished_name = name("orglink-sandbox-admin", Some("system:masters"));
        admin.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        admin.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let admin_key = KeyPair::generate()?;
        let admin_cert = admin.signed_by(&admin_key, &ca)?;

        let service_account = KeyPair::generate()?;

        Ok(Self {
            ca_cert: ca.pem(),
            serving_cert: serving_cert.pem(),
            serving_key: serving_key.serialize_pem(),
            admin_cert: admin_cert.pem(),
            admin_key: admin_key.serialize_pem(),
            service_account_key: service_account.serialize_pem(),
            service_account_public_key: service_account.public_key_pem(),
        })
    }
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
        let other = ClusterPki::generate().unwrap();
        assert_ne!(pki.ca_cert, other.ca_cert, "each start has its own CA");
        assert!(!format!("{pki:?}").contains("PRIVATE"));
    }
}
