//! The process's rustls crypto provider: *ring*, and the platform's trust store.
//!
//! Each binary installs it once at the start of `main` ([`crate::cli::main`] and
//! `kubectl-orglink`'s). The library's own TLS users (the Genesys HTTP client, the
//! webhook server, the sandbox's clients) call [`ensure_crypto_provider`] too, since tests
//! and benches use them without a `main`; after the first call it does nothing.
//!
//! reqwest is built with `rustls-no-provider`, so a rustls crypto provider must exist
//! before a client is built. We install ring as the process default (once, and only if
//! nothing else was installed first — kube-rs and the webhook server use ring too, so
//! the whole process agrees on one provider). reqwest then builds its rustls config from
//! that provider with `rustls-platform-verifier`, i.e. the system's CA certificates.
//! Choosing the process default over a hand-built `ClientConfig` keeps certificate
//! verification exactly reqwest's (platform verifier, hostname checks) without
//! duplicating it here.

use std::sync::Once;

/// Makes sure a rustls crypto provider is installed (ring unless one already is).
pub fn ensure_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Losing a race with another installer is fine: a provider is then installed.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_is_installed_and_a_client_builds() {
        ensure_crypto_provider();
        ensure_crypto_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
        reqwest::Client::builder()
            .build()
            .expect("reqwest builds with the installed provider");
    }
}
