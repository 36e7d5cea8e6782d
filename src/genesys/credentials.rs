//! OAuth client credentials of one org, and the redaction that keeps the secret out of
//! every `Debug`, `Display`, log line and error string.

use std::fmt;

/// A secret string: readable only through [`Secret::expose`], never formatted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub(crate) fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value, for the one place that must send it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `text` with every occurrence of the secret replaced by `<redacted>`: for text a
    /// remote chose (an error description, a body excerpt), since a hostile endpoint
    /// that was sent the secret can echo it back into a status or an Event.
    pub(crate) fn redact(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.0, "<redacted>")
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_string())
    }
}

/// An OAuth client (client-credentials grant) of one Genesys Cloud org. The client ID is
/// not secret (it identifies the client in logs); the secret is never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub(crate) client_id: String,
    pub(crate) client_secret: Secret,
}

impl Credentials {
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<Secret>) -> Self {
        Credentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }

    /// Checks that both parts are present, naming the missing one.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.client_id.trim().is_empty() {
            return Err("credentials.clientId is empty; set the OAuth client ID".into());
        }
        if self.client_secret.is_empty() {
            return Err("credentials.clientSecret is empty; set the OAuth client secret".into());
        }
        if self.client_id.contains(':') {
            // Basic auth joins the two with ':'; an ID containing one cannot be sent.
            return Err("credentials.clientId must not contain ':'".into());
        }
        Ok(())
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish()
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OAuth client {} (secret redacted)", self.client_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let creds = Credentials::new("acme-client", "hunter2-very-secret");
        for text in [
            format!("{creds:?}"),
            format!("{creds:#?}"),
            format!("{creds}"),
            format!("{:?}", creds.client_secret),
            format!("{}", creds.client_secret),
        ] {
            assert!(!text.contains("hunter2"), "{text}");
        }
        assert!(format!("{creds:?}").contains("acme-client"));
        assert_eq!(creds.client_secret.expose(), "hunter2-very-secret");
    }

    #[test]
    fn validation_names_the_missing_part() {
        assert!(Credentials::new("id", "s").validate().is_ok());
        let e = Credentials::new(" ", "s").validate().unwrap_err();
        assert!(e.contains("clientId"), "{e}");
        let e = Credentials::new("id", "").validate().unwrap_err();
        assert!(e.contains("clientSecret"), "{e}");
        let e = Credentials::new("a:b", "s").validate().unwrap_err();
        assert!(e.contains("':'"), "{e}");
    }
}
