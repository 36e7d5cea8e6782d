//! Webhook serving certificates: a CA and a serving certificate for the names the API
//! server dials (the Service DNS names in a cluster, 127.0.0.1 in the sandbox).

use std::net::IpAddr;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

/// PEM material of a webhook's TLS.
#[derive(Clone)]
pub struct WebhookCerts {
    pub ca_cert: String,
    pub(crate) cert: String,
    pub(crate) key: String,
}

impl std::fmt::Debug for WebhookCerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookCerts").finish_non_exhaustive()
    }
}

impl WebhookCerts {
    /// A new CA and a serving certificate for `dns_names` and `ips`.
    pub fn generate(dns_names: &[String], ips: &[IpAddr]) -> Result<Self, rcgen::Error> {
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.distinguished_name
            .push(DnType::CommonName, "orglink-operator-webhook-ca");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
        let mut serving = CertificateParams::new(dns_names.to_vec())?;
        serving
            .subject_alt_names
            .extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
        serving
            .distinguished_name
            .push(DnType::CommonName, "orglink-operator-webhook");
        serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate()?;
        let cert = serving.signed_by(&key, &ca)?;
        Ok(Self {
            ca_cert: ca.pem(),
            cert: cert.pem(),
            key: key.serialize_pem(),
        })
    }

    /// Writes `tls.crt`, `tls.key` and `ca.crt` into `dir` (the layout of a
    /// `kubernetes.io/tls` Secret mounted as a volume).
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        write_atomically(&dir.join("ca.crt"), &self.ca_cert)?;
        write_atomically(&dir.join("tls.key"), &self.key)?;
        write_atomically(&dir.join("tls.crt"), &self.cert)
    }
}

fn write_atomically(path: &Path, content: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content)?;
    std::fs::rename(tmp, path)
}

/// The DNS names of a Service, as the API server may dial it.
pub(crate) fn service_dns_names(service: &str, namespace: &str) -> Vec<String> {
    vec![
        service.to_string(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ]
}
