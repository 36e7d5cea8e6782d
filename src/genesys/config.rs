//! What one org's client needs to know, and where its requests go.
//!
//! Hosts come from the regions table ([`crate::api::regions`]): the API at
//! `https://api.<domain>/api/v2/...` and the token endpoint at
//! `https://login.<domain>/oauth/token`. An `apiBaseUrl` override (the Organization's
//! `spec.apiBaseUrl`, or the simulator's `{url}/{region}`) puts both under one base:
//! `{base}/oauth/token` and `{base}/api/v2/...`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::api::Region;

use super::credentials::Credentials;
use super::http::SharedHttp;
use super::metrics::SharedObserver;
use super::ratelimit::RateLimitConfig;
use super::retry::RetryConfig;

/// Default request timeout (each attempt).
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default connect timeout.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A cached token is replaced this long before it expires (or a fifth of its lifetime,
/// if that is shorter), so a request never leaves with a token about to lapse.
pub(crate) const DEFAULT_TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Page size asked for when listing; Genesys caps most listings at 100.
pub(crate) const DEFAULT_PAGE_SIZE: u32 = 100;

/// The settings of one org's client. Build with [`GenesysConfig::new`] and the `with_*`
/// methods; [`super::GenesysClient::new`] validates it.
#[derive(Clone)]
pub struct GenesysConfig {
    /// A name for logs and metrics, e.g. the Organization's `namespace/name`.
    pub(crate) label: String,
    pub(crate) region: Region,
    /// Overrides both hosts (see the module docs); `None` = the region's hosts.
    pub(crate) api_base_url: Option<String>,
    pub(crate) credentials: Credentials,
    pub(crate) rate_limit: RateLimitConfig,
    /// Timeout of each attempt, from sending to the whole answer read.
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) retry: RetryConfig,
    pub(crate) token_refresh_margin: Duration,
    /// `pageSize` of listing requests.
    pub(crate) page_size: u32,
    /// Sees every HTTP attempt (see [`super::metrics`]).
    pub(crate) observer: Option<SharedObserver>,
    /// Where the HTTP client comes from: shared with other orgs' clients, or `None` for
    /// one of its own.
    pub(crate) shared_http: Option<Arc<SharedHttp>>,
}

impl GenesysConfig {
    /// Defaults for everything but the region and the credentials.
    pub fn new(region: Region, credentials: Credentials) -> Self {
        GenesysConfig {
            label: credentials.client_id.clone(),
            region,
            api_base_url: None,
            credentials,
            rate_limit: RateLimitConfig::default(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            retry: RetryConfig::default(),
            token_refresh_margin: DEFAULT_TOKEN_REFRESH_MARGIN,
            page_size: DEFAULT_PAGE_SIZE,
            observer: None,
            shared_http: None,
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn with_api_base_url(mut self, url: impl Into<String>) -> Self {
        self.api_base_url = Some(url.into());
        self
    }

    pub fn with_rate_limit(mut self, rate_limit: RateLimitConfig) -> Self {
        self.rate_limit = rate_limit;
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size;
        self
    }

    /// Takes the HTTP client (connection pool, TLS settings) from `shared`, with the
    /// other org clients that do.
    pub fn with_shared_http(mut self, shared: Arc<SharedHttp>) -> Self {
        self.shared_http = Some(shared);
        self
    }

    pub fn with_observer(mut self, observer: SharedObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Checks every setting, naming the first bad one and how to fix it.
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.credentials.validate()?;
        self.rate_limit.validate()?;
        self.retry.validate()?;
        if self.timeout.is_zero() {
            return Err("timeout must be greater than zero".into());
        }
        if self.connect_timeout.is_zero() {
            return Err("connectTimeout must be greater than zero".into());
        }
        if !(1..=500).contains(&self.page_size) {
            return Err(format!(
                "pageSize must be between 1 and 500, got {}",
                self.page_size
            ));
        }
        Endpoints::new(self.region, self.api_base_url.as_deref())?;
        Ok(())
    }
}

impl fmt::Debug for GenesysConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenesysConfig")
            .field("label", &self.label)
            .field("region", &self.region)
            .field("api_base_url", &self.api_base_url)
            .field("credentials", &self.credentials)
            .field("rate_limit", &self.rate_limit)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("token_refresh_margin", &self.token_refresh_margin)
            .field("page_size", &self.page_size)
            .field("observer", &self.observer.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// The two URLs every request is built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoints {
    /// Below which `/api/v2/...` lives; no trailing slash.
    api_base: String,
    token_url: String,
}

impl Endpoints {
    /// The region's hosts, or both under `api_base_url` when given.
    pub(crate) fn new(region: Region, api_base_url: Option<&str>) -> Result<Self, String> {
        match api_base_url {
            None => Ok(Endpoints {
                api_base: region.api_base_url(),
                token_url: region.token_url(),
            }),
            Some(raw) => {
                let base = normalize_base_url(raw)?;
                Ok(Endpoints {
                    token_url: format!("{base}/oauth/token"),
                    api_base: base,
                })
            }
        }
    }

    pub(crate) fn api_base(&self) -> &str {
        &self.api_base
    }

    pub(crate) fn token_url(&self) -> &str {
        &self.token_url
    }

    /// The URL of `template` (e.g. `/api/v2/orgauthorization/trustees/{trusteeOrgId}`)
    /// with its placeholders filled, in order, by `args` (each percent-encoded as one
    /// path segment).
    pub(crate) fn api_url(&self, template: &str, args: &[&str]) -> Result<String, String> {
        Ok(format!("{}{}", self.api_base, render_path(template, args)?))
    }
}

/// Checks an `apiBaseUrl` and strips its trailing slash. It must be an absolute http(s)
/// URL without credentials, query or fragment.
pub(crate) fn normalize_base_url(raw: &str) -> Result<String, String> {
    let parsed = url::Url::parse(raw.trim()).map_err(|e| {
        format!("apiBaseUrl {raw:?} is not a valid URL ({e}); use e.g. https://api.mypurecloud.com")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "apiBaseUrl must use http or https, got {:?}",
            parsed.scheme()
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("apiBaseUrl {raw:?} has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        // Never echo the URL here: it holds credentials.
        return Err(
            "apiBaseUrl must not contain credentials; put them in the credentials Secret".into(),
        );
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "apiBaseUrl {raw:?} must not have a query or fragment"
        ));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

/// Fills the `{...}` placeholders of `template` with `args`, in order. Each argument
/// becomes exactly one path segment: it must not be empty (an empty ID would turn
/// `/trustees/{id}` into the listing `/trustees/`), and anything outside the unreserved
/// characters is percent-encoded.
pub(crate) fn render_path(template: &str, args: &[&str]) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 40);
    let mut rest = template;
    let mut args = args.iter();
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .ok_or_else(|| format!("unclosed placeholder in {template}"))?;
        let name = &rest[open + 1..close];
        let value = args
            .next()
            .ok_or_else(|| format!("no value for {{{name}}} in {template}"))?;
        if value.trim().is_empty() {
            return Err(format!("{name} must not be empty"));
        }
        out.push_str(&rest[..open]);
        encode_segment(value, &mut out);
        rest = &rest[close + 1..];
    }
    if args.next().is_some() {
        return Err(format!("more values than placeholders in {template}"));
    }
    out.push_str(rest);
    Ok(out)
}

fn encode_segment(value: &str, out: &mut String) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_hosts() {
        let e = Endpoints::new(Region::UsEast1, None).unwrap();
        assert_eq!(e.api_base(), "https://api.mypurecloud.com");
        assert_eq!(e.token_url(), "https://login.mypurecloud.com/oauth/token");
        assert_eq!(
            e.api_url("/api/v2/organizations/me", &[]).unwrap(),
            "https://api.mypurecloud.com/api/v2/organizations/me"
        );
        let e = Endpoints::new(Region::EuWest1, None).unwrap();
        assert_eq!(e.token_url(), "https://login.mypurecloud.ie/oauth/token");
    }

    #[test]
    fn a_base_url_override_holds_both_token_and_api() {
        for raw in [
            "http://127.0.0.1:41234/us-east-1",
            "http://127.0.0.1:41234/us-east-1/",
        ] {
            let e = Endpoints::new(Region::UsEast1, Some(raw)).unwrap();
            assert_eq!(
                e.token_url(),
                "http://127.0.0.1:41234/us-east-1/oauth/token"
            );
            assert_eq!(
                e.api_url(
                    "/api/v2/orgauthorization/trustees/{trusteeOrgId}",
                    &["0b6c4a1e-0000-4000-8000-000000000001"]
                )
                .unwrap(),
                "http://127.0.0.1:41234/us-east-1/api/v2/orgauthorization/trustees/0b6c4a1e-0000-4000-8000-000000000001"
            );
        }
        let e = Endpoints::new(Region::UsEast1, Some("https://api.example.test")).unwrap();
        assert_eq!(e.token_url(), "https://api.example.test/oauth/token");
    }

    #[test]
    fn bad_base_urls_are_refused_with_the_reason() {
        for (raw, needle) in [
            ("not a url", "not a valid URL"),
            ("ftp://x.test", "http or https"),
            ("https://x.test/?a=b", "query or fragment"),
            ("https://x.test/#frag", "query or fragment"),
        ] {
            let e = Endpoints::new(Region::UsEast1, Some(raw)).unwrap_err();
            assert!(e.contains(needle), "{raw}: {e}");
        }
        let e = Endpoints::new(Region::UsEast1, Some("https://user:hunter2@x.test")).unwrap_err();
        assert!(e.contains("credentials") && !e.contains("hunter2"), "{e}");
    }

    #[test]
    fn path_arguments_are_single_encoded_segments() {
        assert_eq!(
            render_path(
                "/api/v2/orgauthorization/trustees/{a}/users/{b}/roles",
                &["org", "user"]
            )
            .unwrap(),
            "/api/v2/orgauthorization/trustees/org/users/user/roles"
        );
        assert_eq!(
            render_path("/x/{id}", &["a/b c?d#e%"]).unwrap(),
            "/x/a%2Fb%20c%3Fd%23e%25"
        );
        assert_eq!(render_path("/x/{id}", &["é"]).unwrap(), "/x/%C3%A9");
        assert!(render_path("/x/{id}", &[""]).unwrap_err().contains("id"));
        assert!(render_path("/x/{id}", &["  "]).is_err());
        assert!(render_path("/x/{id}", &[]).is_err());
        assert!(render_path("/x", &["extra"]).is_err());
        assert!(render_path("/x/{id", &["a"]).is_err());
    }

    #[test]
    fn config_validation_and_redacted_debug() {
        let c = GenesysConfig::new(Region::UsEast1, Credentials::new("id", "topsecret"));
        assert!(c.validate().is_ok());
        assert_eq!(c.label, "id");
        assert!(!format!("{c:?}").contains("topsecret"));
        let bad = c.clone().with_page_size(0).validate().unwrap_err();
        assert!(bad.contains("pageSize"), "{bad}");
        let bad = c
            .clone()
            .with_timeout(Duration::ZERO)
            .validate()
            .unwrap_err();
        assert!(bad.contains("timeout"), "{bad}");
        let bad = c.with_api_base_url("mailto:x").validate().unwrap_err();
        assert!(bad.contains("apiBaseUrl"), "{bad}");
    }
}
