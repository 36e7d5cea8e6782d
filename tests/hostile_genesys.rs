//! The Genesys client against a hostile endpoint (`tests/hostile/server.rs`): absurd
//! `Retry-After` values, a 10 GiB `Content-Length`, a 16 MiB body, malformed JSON,
//! listings that never end, redirects to another host, errors that quote the client
//! secret back, a token that claims to live forever. Every case ends in a clear error
//! (or, for the token, a success) without a panic, a wait or a read beyond the caps;
//! no redirect is followed; and the canary client secret appears in no error and in no
//! line of the client's tracing output (captured at TRACE level for this whole binary).

#[path = "hostile/capture.rs"]
mod capture;
#[path = "hostile/server.rs"]
mod server;

use std::sync::Arc;
use std::time::Duration;

use capture::CANARY;
use orglink_operator::api::Region;
use orglink_operator::genesys::http::MAX_BODY_BYTES;
use orglink_operator::genesys::paging::MAX_PAGES;
use orglink_operator::genesys::{
    Credentials, GenesysClient, GenesysConfig, GenesysError, RateLimitConfig, RetryConfig,
};
use parking_lot::Mutex;
use server::{Behaviour, HostileServer};

/// Everything traced, at the levels these tests search.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    capture::logs("trace")
}

fn client(server: &HostileServer) -> GenesysClient {
    logs();
    GenesysClient::new(
        GenesysConfig::new(Region::UsEast1, Credentials::new("hostile-client", CANARY))
            .with_label("hostile")
            .with_api_base_url(server.url())
            .with_timeout(Duration::from_secs(20))
            // Quick retries and a bucket that never holds these tests up.
            .with_retry(RetryConfig {
                base_delay: Duration::from_millis(5),
                max_delay: Duration::from_millis(20),
                ..RetryConfig::default()
            })
            .with_rate_limit(RateLimitConfig {
                requests_per_minute: 60_000,
                burst: 1_000,
            }),
    )
    .expect("valid client settings")
}

/// The error, checked for the canary in every form it can be shown in.
fn no_canary(error: &GenesysError) {
    let shown = format!("{error} | {error:?} | {:?}", error.message());
    assert!(!shown.contains(CANARY), "the secret leaked: {shown}");
    let logs = String::from_utf8_lossy(&logs().lock()).into_owned();
    assert!(!logs.contains(CANARY), "the secret is in the logs");
}

#[tokio::test]
async fn absurd_retry_after_values_end_in_a_rate_limit_error_without_a_panic() {
    let server = HostileServer::start(Behaviour::Honest).await;
    let c = client(&server);
    c.authenticate().await.unwrap();
    // Issue 11, reproduction 2: `1e20` panicked the operator. Values beyond 180 s are
    // refused at once; values that are not a delay fall back to backoff.
    for (value, attempts) in [
        ("1e20", Some(1)),
        ("18446744073709551616", Some(1)),
        ("Fri, 31 Dec 9999 23:59:59 GMT", Some(1)),
        ("-1", None),
        ("NaN", None),
    ] {
        server.set(Behaviour::RetryAfter(value.into()));
        let e = c.organization_me().await.unwrap_err();
        assert!(e.is_rate_limited(), "{value}: {e}");
        let api = e.api().unwrap();
        if let Some(n) = attempts {
            assert_eq!(api.attempts, n, "{value}: not waited for");
        } else {
            assert!(api.attempts > 1, "{value}: retried with backoff");
        }
        no_canary(&e);
    }
}

#[tokio::test]
async fn a_ten_gib_content_length_is_refused_before_reading() {
    let server = HostileServer::start(Behaviour::Honest).await;
    let c = client(&server);
    c.authenticate().await.unwrap();
    server.set(Behaviour::HugeContentLength);
    let e = c.organization_me().await.unwrap_err();
    assert!(
        matches!(e, GenesysError::BodyTooLarge { limit, .. } if limit == MAX_BODY_BYTES),
        "{e}"
    );
    assert!(e.to_string().contains("larger than 4194304 bytes"), "{e}");
    no_canary(&e);
}

#[tokio::test]
async fn a_sixteen_mib_body_is_abandoned_at_the_cap() {
    let server = HostileServer::start(Behaviour::HugeBody(16 * 1024 * 1024)).await;
    let c = client(&server);
    // The token endpoint first: its body is capped too.
    let e = c.authenticate().await.unwrap_err();
    assert!(
        matches!(&e, GenesysError::BodyTooLarge { endpoint, .. } if *endpoint == "/oauth/token"),
        "{e}"
    );
    server.set(Behaviour::Honest);
    c.authenticate().await.unwrap();
    server.set(Behaviour::HugeBody(16 * 1024 * 1024));
    let e = c.list_trustees().await.unwrap_err();
    assert!(matches!(e, GenesysError::BodyTooLarge { .. }), "{e}");
    no_canary(&e);
}

#[tokio::test]
async fn a_malformed_body_is_a_decode_error() {
    let server = HostileServer::start(Behaviour::Honest).await;
    let c = client(&server);
    c.authenticate().await.unwrap();
    server.set(Behaviour::Malformed);
    let e = c.organization_me().await.unwrap_err();
    assert!(matches!(e, GenesysError::Decode { .. }), "{e}");
    no_canary(&e);
}

#[tokio::test]
async fn a_listing_that_never_ends_stops_at_the_page_cap() {
    let server = HostileServer::start(Behaviour::Honest).await;
    let c = client(&server);
    c.authenticate().await.unwrap();
    server.set(Behaviour::EndlessPages);
    let before = server.requests();
    let e = c.list_trustees().await.unwrap_err();
    assert!(
        matches!(e, GenesysError::Paging { pages, .. } if pages == MAX_PAGES),
        "{e}"
    );
    assert_eq!(server.requests() - before, MAX_PAGES as usize);
    assert!(e.to_string().contains("at most 100 pages"), "{e}");
    no_canary(&e);
}

#[tokio::test]
async fn redirects_are_not_followed_so_credentials_stay_put() {
    let server = HostileServer::start(Behaviour::Redirect).await;
    let c = client(&server);
    // The token endpoint redirecting: the Basic credentials are not sent on.
    let e = c.authenticate().await.unwrap_err();
    assert_eq!(e.status(), Some(302), "{e}");
    no_canary(&e);
    server.set(Behaviour::Honest);
    c.authenticate().await.unwrap();
    // An API call redirecting: the bearer token is not sent on.
    server.set(Behaviour::Redirect);
    let e = c.organization_me().await.unwrap_err();
    assert_eq!(e.status(), Some(302), "{e}");
    assert_eq!(
        server.stolen(),
        0,
        "a redirect was followed to another host"
    );
    no_canary(&e);
}

#[tokio::test]
async fn a_secret_echoed_back_is_redacted_from_every_error() {
    let server = HostileServer::start(Behaviour::EchoSecret).await;
    let c = client(&server);
    // The token endpoint quoting the secret in its error description.
    let e = c.authenticate().await.unwrap_err();
    assert!(e.to_string().contains("<redacted>"), "{e}");
    no_canary(&e);
    // An API error quoting it in message and code (token honest, API hostile).
    server.rotate(vec![Behaviour::Honest, Behaviour::EchoSecret]);
    let e = c.list_trustees().await.unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");
    assert!(e.to_string().contains("<redacted>"), "{e}");
    no_canary(&e);
    // A decoding error quoting the value it could not decode.
    server.set(Behaviour::EchoSecret);
    let e = c.organization_me().await.unwrap_err();
    assert!(matches!(e, GenesysError::Decode { .. }), "{e}");
    no_canary(&e);
}

#[tokio::test]
async fn a_token_that_claims_to_live_forever_is_used_without_overflow() {
    let server = HostileServer::start(Behaviour::EndlessToken).await;
    let c = client(&server);
    let me = c.organization_me().await.unwrap();
    assert_eq!(me.id, server::ORG_ID);
    assert_eq!(c.token_requests(), 1);
}
