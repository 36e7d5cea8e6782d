//! Where an Organization's credentials may be sent: the `spec.apiBaseUrl` allowlist the
//! operator is started with (`--allow-api-base-url`, `--allow-insecure-http`).
//!
//! A namespace user writes `spec.apiBaseUrl`; the operator then posts that namespace's
//! OAuth client credentials to `{apiBaseUrl}/oauth/token`. Without a check, anyone who
//! may create an Organization could have credentials sent to a server of their choice.
//! So an `apiBaseUrl` is used only when it matches an entry of this list, chosen by the
//! cluster admin who installs the operator:
//!
//! - the API hosts of the Genesys Cloud regions (`https://api.<domain>`, from
//!   [`crate::api::regions`]) are always allowed: they are where the credentials go
//!   when `apiBaseUrl` is not set;
//! - an entry without a scheme is a host (`proxy.example.com`, `127.0.0.1`): any
//!   `https` URL on that host, any port and path;
//! - an entry with a scheme is a URL prefix (`https://proxy.example.com/genesys/`): the
//!   same scheme, host and port, and a path below the entry's (whole segments);
//! - `http://` is refused unless `--allow-insecure-http` is given, and then only for
//!   URLs that match an entry (an `http://` prefix entry without the flag is a start-up
//!   error, so the mistake shows at once).
//!
//! The operator and its validating webhook run in one process with one list, so the
//! webhook refuses exactly what the operator would refuse.

use std::fmt;

use url::Url;

use crate::api::Region;

/// The flag that adds an entry (its environment variable: `ORGLINK_ALLOW_API_BASE_URL`).
pub(crate) const ALLOW_FLAG: &str = "--allow-api-base-url";
/// The flag that permits `http://` (its environment variable: `ORGLINK_ALLOW_INSECURE_HTTP`).
pub(crate) const INSECURE_FLAG: &str = "--allow-insecure-http";

/// One entry of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Allowed {
    /// Any `https` URL (or `http`, with insecure HTTP allowed) on this host.
    Host(String),
    /// URLs with this scheme, host and port whose path is below `path` (no trailing `/`).
    Prefix {
        scheme: String,
        host: String,
        port: Option<u16>,
        path: String,
    },
}

impl fmt::Display for Allowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Allowed::Host(host) => f.write_str(host),
            Allowed::Prefix {
                scheme,
                host,
                port,
                path,
            } => {
                write!(f, "{scheme}://{host}")?;
                if let Some(port) = port {
                    write!(f, ":{port}")?;
                }
                write!(f, "{path}/")
            }
        }
    }
}

impl Allowed {
    /// Reads one `--allow-api-base-url` value: a host, or an `http(s)://` URL prefix.
    pub(crate) fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(format!("{ALLOW_FLAG}: an entry is empty"));
        }
        if !raw.contains("://") {
            let url = Url::parse(&format!("https://{raw}/"))
                .map_err(|e| format!("{ALLOW_FLAG} {raw:?}: not a host name ({e})"))?;
            let host = url.host_str().unwrap_or_default();
            if host.is_empty() || url.port().is_some() || url.path() != "/" {
                return Err(format!(
                    "{ALLOW_FLAG} {raw:?}: give a bare host (proxy.example.com) or a URL prefix (https://proxy.example.com:8443/genesys)"
                ));
            }
            return Ok(Allowed::Host(host.to_ascii_lowercase()));
        }
        let url = Url::parse(raw).map_err(|e| format!("{ALLOW_FLAG} {raw:?}: not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "{ALLOW_FLAG} {raw:?}: only http:// and https:// URLs can be allowed"
            ));
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err(format!(
                "{ALLOW_FLAG} {raw:?}: a prefix has no user, query or fragment"
            ));
        }
        Ok(Allowed::Prefix {
            scheme: url.scheme().to_string(),
            host: url.host_str().unwrap_or_default().to_ascii_lowercase(),
            port: url.port(),
            path: url.path().trim_end_matches('/').to_string(),
        })
    }

    fn matches(&self, url: &Url) -> bool {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        match self {
            Allowed::Host(allowed) => *allowed == host,
            Allowed::Prefix {
                scheme,
                host: allowed_host,
                port,
                path,
            } => {
                let url_path = url.path().trim_end_matches('/');
                scheme == url.scheme()
                    && *allowed_host == host
                    && *port == url.port()
                    && (url_path == path
                        || url_path
                            .strip_prefix(path.as_str())
                            .is_some_and(|rest| rest.starts_with('/')))
            }
        }
    }
}

/// The list the operator was started with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiBaseUrlAllowlist {
    entries: Vec<Allowed>,
    insecure_http: bool,
}

impl ApiBaseUrlAllowlist {
    /// The list from the flags' values. Refuses an `http://` entry without
    /// `insecure_http`, naming both flags.
    pub(crate) fn new(entries: &[String], insecure_http: bool) -> Result<Self, String> {
        let entries = entries
            .iter()
            .map(|e| Allowed::parse(e))
            .collect::<Result<Vec<_>, _>>()?;
        if !insecure_http
            && let Some(plain) = entries
                .iter()
                .find(|e| matches!(e, Allowed::Prefix { scheme, .. } if scheme == "http"))
        {
            return Err(format!(
                "{ALLOW_FLAG} {plain}: plain http:// sends the credentials unencrypted; add {INSECURE_FLAG} as well if that is really meant (a local simulator or test server)"
            ));
        }
        Ok(Self {
            entries,
            insecure_http,
        })
    }

    /// Only the Genesys Cloud region hosts (what `orglink-operator run` uses by default).
    pub fn regions_only() -> Self {
        Self::default()
    }

    /// Any URL on these hosts, `http://` included (the unit tests' simulators listen on
    /// loopback ports chosen at start-up).
    #[cfg(test)]
    pub(crate) fn local(hosts: &[&str]) -> Self {
        Self {
            entries: hosts
                .iter()
                .map(|h| Allowed::Host(h.to_ascii_lowercase()))
                .collect(),
            insecure_http: true,
        }
    }

    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[Allowed] {
        &self.entries
    }

    /// Checks an Organization's `spec.apiBaseUrl`. `Err` names the field, the value and
    /// the flag that would allow it.
    pub(crate) fn check(&self, raw: &str) -> Result<(), String> {
        let url = Url::parse(raw.trim()).map_err(|e| {
            format!("spec.apiBaseUrl: {raw:?} is not a valid URL ({e}); remove it to use the region's hosts")
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "spec.apiBaseUrl: must not contain credentials; put them in the credentials Secret"
                    .into(),
            );
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        match url.scheme() {
            "https" => {}
            "http" if self.insecure_http => {}
            "http" => {
                return Err(format!(
                    "spec.apiBaseUrl: {raw:?} uses plain http://, which would send the OAuth credentials unencrypted; use https://, or ask the cluster admin to start the operator with {INSECURE_FLAG} and {ALLOW_FLAG} {}",
                    suggestion(&url)
                ));
            }
            other => {
                return Err(format!(
                    "spec.apiBaseUrl: scheme {other:?} is not supported; use https://"
                ));
            }
        }
        let is_region_host = url.scheme() == "https"
            && url.port().is_none()
            && Region::all().any(|r| r.info().api_host() == host);
        if is_region_host || self.entries.iter().any(|e| e.matches(&url)) {
            return Ok(());
        }
        Err(format!(
            "spec.apiBaseUrl: {raw:?} is not on the operator's allowlist, so the credentials will not be sent there; remove spec.apiBaseUrl to use the Genesys Cloud hosts of spec.region, or ask the cluster admin to start the operator with {ALLOW_FLAG} {} (allowed now: {})",
            suggestion(&url),
            self.describe()
        ))
    }

    /// The list as a user can read it in a message.
    pub(crate) fn describe(&self) -> String {
        let mut parts = vec!["the Genesys Cloud region API hosts".to_string()];
        parts.extend(self.entries.iter().map(ToString::to_string));
        if self.insecure_http {
            parts.push("http:// permitted".to_string());
        }
        parts.join(", ")
    }
}

/// The entry that would allow `url`: its origin.
fn suggestion(url: &Url) -> String {
    url.origin().ascii_serialization()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str], insecure: bool) -> ApiBaseUrlAllowlist {
        let entries: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
        ApiBaseUrlAllowlist::new(&entries, insecure).unwrap()
    }

    #[test]
    fn the_region_hosts_are_allowed_by_default_and_nothing_else() {
        let default = ApiBaseUrlAllowlist::regions_only();
        for ok in [
            "https://api.mypurecloud.com",
            "https://api.mypurecloud.ie/",
            "https://API.usw2.pure.cloud",
        ] {
            assert_eq!(default.check(ok), Ok(()), "{ok}");
        }
        for (bad, needle) in [
            ("https://evil.example.com", ALLOW_FLAG),
            ("https://api.mypurecloud.com.evil.example", ALLOW_FLAG),
            ("https://api.mypurecloud.com:8443", ALLOW_FLAG),
            ("http://api.mypurecloud.com", INSECURE_FLAG),
            ("http://127.0.0.1:18080", INSECURE_FLAG),
            ("ftp://api.mypurecloud.com", "https://"),
            ("not a url", "not a valid URL"),
        ] {
            let e = default.check(bad).unwrap_err();
            assert!(e.starts_with("spec.apiBaseUrl"), "{bad}: {e}");
            assert!(e.contains(needle), "{bad}: {needle} missing from {e}");
        }
    }

    #[test]
    fn the_message_names_the_flag_and_the_entry_that_would_allow_it() {
        let e = ApiBaseUrlAllowlist::regions_only()
            .check("https://proxy.example.com:8443/genesys")
            .unwrap_err();
        assert!(
            e.contains("--allow-api-base-url https://proxy.example.com:8443"),
            "{e}"
        );
        assert!(e.contains("remove spec.apiBaseUrl"), "{e}");
    }

    #[test]
    fn a_host_entry_allows_https_on_that_host_only() {
        let l = list(&["proxy.example.com"], false);
        assert_eq!(l.check("https://proxy.example.com"), Ok(()));
        assert_eq!(l.check("https://PROXY.example.com:8443/a/b"), Ok(()));
        assert!(l.check("https://other.example.com").is_err());
        assert!(l.check("https://proxy.example.com.evil.test").is_err());
        assert!(l.check("http://proxy.example.com").is_err());
        let insecure = list(&["127.0.0.1"], true);
        assert_eq!(insecure.check("http://127.0.0.1:18080/us-east-1"), Ok(()));
        assert!(insecure.check("http://127.0.0.2:18080").is_err());
    }

    #[test]
    fn a_prefix_entry_allows_its_scheme_host_port_and_path_below_it() {
        let l = list(&["https://gw.example.com:8443/genesys/"], false);
        assert_eq!(l.check("https://gw.example.com:8443/genesys"), Ok(()));
        assert_eq!(l.check("https://gw.example.com:8443/genesys/eu/"), Ok(()));
        for bad in [
            "https://gw.example.com:8443/genesys-evil",
            "https://gw.example.com:8443/",
            "https://gw.example.com/genesys",
            "https://gw.example.com:9443/genesys",
            "https://other.example.com:8443/genesys",
        ] {
            assert!(l.check(bad).is_err(), "{bad}");
        }
        let plain = list(&["http://127.0.0.1:18080"], true);
        assert_eq!(plain.check("http://127.0.0.1:18080/us-east-1"), Ok(()));
        assert!(plain.check("https://127.0.0.1:18080").is_err());
        assert!(plain.check("http://127.0.0.1:18081").is_err());
    }

    #[test]
    fn http_entries_need_the_insecure_flag_and_bad_entries_are_named() {
        let e = ApiBaseUrlAllowlist::new(&["http://127.0.0.1:18080".into()], false).unwrap_err();
        assert!(e.contains(INSECURE_FLAG) && e.contains("127.0.0.1"), "{e}");
        for (bad, needle) in [
            ("", "empty"),
            ("ftp://x.test", "http://"),
            ("https://x.test/?q=1", "query"),
            ("x.test:8443", "bare host"),
            ("x.test/path", "bare host"),
        ] {
            let e = ApiBaseUrlAllowlist::new(&[bad.into()], true).unwrap_err();
            assert!(
                e.contains(ALLOW_FLAG) && e.contains(needle),
                "{bad}: {needle} missing from {e}"
            );
        }
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_echoing_them() {
        let l = ApiBaseUrlAllowlist::local(&["127.0.0.1"]);
        let e = l.check("http://user:hunter2@127.0.0.1:1").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
    }
}
