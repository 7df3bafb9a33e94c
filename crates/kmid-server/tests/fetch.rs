//! The status fetcher against real HTTP on loopback: the resolver it serves fetches a list
//! from the status service and reads a credential's status; and every way a fetch fails is
//! told apart, in the code a verifier reports: a 404, a body over the limit (streamed and cut
//! off, and announced by Content-Length), an answer slower than the timeout, a plain-HTTP URI
//! for a fetcher that wants HTTPS, nothing listening.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use kmid::crypto::SystemRandom;
use kmid::schema::Card;
use kmid::schema::status::{
    FetchFailure, StatusContext, StatusError, StatusReference, StatusResolver, StatusTokenForm,
    TokenStatus,
};
use kmid::status::StatusListFetcher;
use kmid::status::registry::{MemoryStore, RegistryConfig, StatusRegistry};
use kmid::status::token::{TokenKeys, TokenPolicy};
use kmid::{AuthorityKeys, CardKeySecret, Formats, Issuer, IssuingAuthority};
use kmid_server::{FetchConfig, HttpFetcher, StatusService};
use time::OffsetDateTime;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

/// A runtime of the test's own, serving `router` on an ephemeral loopback port.
fn serve(runtime: &tokio::runtime::Runtime, router: axum::Router) -> String {
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    runtime.spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

#[test]
fn the_resolver_fetches_over_http_and_keeps_why_a_fetch_failed() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // An issuer whose lists the status service serves; the lists' URIs are the service's.
    let random = Arc::new(SystemRandom);
    let status = StatusService::new(300);
    let base = serve(&runtime, status.router());
    let keys = AuthorityKeys::generate(IssuingAuthority::Mois, now(), &*random).unwrap();
    let registry = StatusRegistry::new(
        MemoryStore::new(),
        RegistryConfig::new(format!("{base}/lists")),
        random.clone(),
    );
    let issuer = Issuer::new(
        keys,
        registry,
        CardKeySecret::generate(&*random).unwrap(),
        random,
    );
    let holder = kmid::crypto::PrivateKey::generate(kmid::crypto::Curve::P256).unwrap();
    let issued = issuer
        .issue(
            &Card::from(kmid_testkit::samples::resident()),
            holder.public_key(),
            Formats::SdJwtVc,
            now(),
        )
        .unwrap()
        .sd_jwt
        .unwrap();
    status.publish(issuer.publish(now(), 300).unwrap()).unwrap();
    let trust = kmid::trust_store([issuer.keys()]).unwrap();

    // Odd servers: slow, large, large without saying so.
    let odd = axum::Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        )
        .route("/large", get(|| async { vec![b'x'; 64 * 1024] }))
        .route(
            "/streamed",
            get(|| async {
                let chunks = (0..64).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 1024]));
                axum::body::Body::from_stream(futures_stream(chunks))
            }),
        );
    let odd_base = serve(&runtime, odd);

    let config = FetchConfig {
        max_body: 16 * 1024,
        timeout: Duration::from_millis(500),
        allow_http: true,
        ..FetchConfig::default()
    };
    let fetcher = HttpFetcher::new(config.clone())
        .unwrap()
        .blocking(runtime.handle().clone());
    let resolver = kmid::status::StatusListResolver::new(
        fetcher.clone(),
        TokenKeys::X5c(trust),
        TokenPolicy::default(),
    );
    let context = StatusContext {
        form: StatusTokenForm::Jwt,
        ..StatusContext::default()
    };
    assert_eq!(
        resolver.resolve(&issued.status, &context, now()).unwrap(),
        TokenStatus::Valid
    );

    let accept = "application/statuslist+jwt";
    let failure = |uri: String| fetcher.fetch(&uri, accept).unwrap_err();
    assert_eq!(
        failure(format!("{base}/lists/999")),
        FetchFailure::HttpStatus(404)
    );
    assert_eq!(failure(format!("{odd_base}/large")), FetchFailure::TooLarge);
    assert_eq!(
        failure(format!("{odd_base}/streamed")),
        FetchFailure::TooLarge
    );
    assert_eq!(failure(format!("{odd_base}/slow")), FetchFailure::Timeout);
    // Nothing listens on port 9 of loopback.
    assert_eq!(
        failure("http://127.0.0.1:9/lists/1".into()),
        FetchFailure::Transport
    );
    // Plain HTTP is for loopback only, even when allowed.
    assert_eq!(
        failure("http://status.kmid.invalid/lists/1".into()),
        FetchFailure::Scheme
    );
    let https_only = HttpFetcher::new(FetchConfig {
        allow_http: false,
        ..config
    })
    .unwrap()
    .blocking(runtime.handle().clone());
    assert_eq!(
        https_only
            .fetch(&format!("{base}/lists/1"), accept)
            .unwrap_err(),
        FetchFailure::Scheme
    );

    // In a verification result: the reason is in the error and its code.
    let missing = StatusReference {
        uri: format!("{base}/lists/999"),
        ..issued.status.clone()
    };
    let error = resolver.resolve(&missing, &context, now()).unwrap_err();
    assert_eq!(
        error,
        StatusError::Unavailable {
            uri: missing.uri.clone(),
            reason: FetchFailure::HttpStatus(404)
        }
    );
    assert_eq!(error.code(), "Unavailable.HttpStatus");
}

/// A stream of `items` (the body of a response that announces no length).
fn futures_stream<I>(items: I) -> impl futures_core::Stream<Item = I::Item> + Send
where
    I: Iterator + Send + Unpin + 'static,
    I::Item: Send,
{
    struct Iter<I>(I);
    impl<I: Iterator + Unpin> futures_core::Stream for Iter<I> {
        type Item = I::Item;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<I::Item>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    Iter(items)
}
