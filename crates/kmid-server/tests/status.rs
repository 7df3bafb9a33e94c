//! The status service over real HTTP on loopback: an issuer's lists served as the Token Status
//! List draft's §8 says (JWT and CWT by `Accept`, 406 for neither, 404 elsewhere), an `ETag`
//! and `304` for a conditional `GET`, `Cache-Control` from the `ttl`, CORS, gzip; each token
//! verifies for its `uri`; and a change in the registry (the card reported lost) is published
//! and seen by a client with the old `ETag`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;

use kmid::crypto::SystemRandom;
use kmid::schema::Card;
use kmid::status::registry::{Actor, MemoryStore, RegistryConfig, StatusRegistry};
use kmid::status::token::{TokenKeys, TokenPolicy, verify_token};
use kmid::{AuthorityKeys, CardKeySecret, Formats, Issuer, IssuingAuthority};
use kmid_server::{StatusPublisher, StatusService};
use time::{Duration, OffsetDateTime};

const TTL: u64 = 300;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

/// Serves `router` on an ephemeral loopback port until the returned sender is dropped or
/// fired; returns the base URL.
async fn serve(router: axum::Router) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (format!("http://{address}"), stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lists_are_served_negotiated_cached_and_republished() {
    let random = Arc::new(SystemRandom);
    let keys = AuthorityKeys::generate(IssuingAuthority::Mois, now(), &*random).unwrap();
    let registry = StatusRegistry::new(
        MemoryStore::new(),
        RegistryConfig::new("https://status.kmid.invalid/lists"),
        random.clone(),
    );
    let issuer = Issuer::new(
        keys,
        registry,
        CardKeySecret::generate(&*random).unwrap(),
        random,
    );
    let trust = kmid::trust_store([issuer.keys()]).unwrap();
    let card = Card::from(kmid_testkit::samples::resident());
    let holder = kmid::crypto::PrivateKey::generate(kmid::crypto::Curve::P256).unwrap();
    let credential = issuer
        .issue(&card, holder.public_key(), Formats::SdJwtVc, now())
        .unwrap()
        .sd_jwt
        .unwrap()
        .credential;
    let index = issuer.registry().credential(credential).unwrap().idx;

    let service = StatusService::new(TTL);
    let mut publisher = StatusPublisher::new(Duration::hours(1));
    let latest = |issuer: &Issuer<MemoryStore>| {
        issuer
            .registry()
            .events(0)
            .unwrap()
            .last()
            .map_or(0, |e| e.seq)
    };
    let publish = |at| issuer.publish(at, TTL).map_err(|e| e.to_string());
    assert!(
        publisher
            .tick(&service, latest(&issuer), now(), publish)
            .unwrap()
    );
    assert_eq!(service.len(), 1);
    let uri = issuer.publish(now(), TTL).unwrap()[0].uri.clone();
    let path = uri.strip_prefix("https://status.kmid.invalid").unwrap();

    let (base, stop) = serve(service.router()).await;
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(kmid_server::tls_client_config().unwrap())
        .build()
        .unwrap();
    let url = format!("{base}{path}");
    let get = |accept: Option<&'static str>, etag: Option<String>| {
        let mut request = client.get(&url);
        if let Some(a) = accept {
            request = request.header("Accept", a);
        }
        if let Some(e) = etag {
            request = request.header("If-None-Match", e);
        }
        request.send()
    };

    // The JWT form by default and when asked for.
    let response = get(Some("application/statuslist+jwt"), None).await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/statuslist+jwt");
    assert_eq!(headers["cache-control"], format!("public, max-age={TTL}"));
    assert_eq!(headers["access-control-allow-origin"], "*");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with("W/\"") && etag.len() > 40, "{etag}");
    let jwt = response.bytes().await.unwrap();
    let verified = verify_token(
        &jwt,
        &uri,
        now(),
        &TokenKeys::X5c(trust.clone()),
        &TokenPolicy::default(),
    )
    .unwrap();
    assert_eq!(verified.claims.ttl, Some(TTL));
    assert_eq!(verified.list.get(index).unwrap(), 0, "VALID");
    let default = get(None, None).await.unwrap();
    assert_eq!(
        default.headers()["content-type"],
        "application/statuslist+jwt"
    );

    // The CWT form, with its own tag; it verifies too.
    let response = get(Some("application/statuslist+cwt"), None).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/statuslist+cwt"
    );
    assert_ne!(response.headers()["etag"].to_str().unwrap(), etag);
    let cwt = response.bytes().await.unwrap();
    assert_eq!(cwt.first(), Some(&0xD2), "a tagged COSE_Sign1");
    verify_token(
        &cwt,
        &uri,
        now(),
        &TokenKeys::X5c(trust.clone()),
        &TokenPolicy::default(),
    )
    .unwrap();

    // Neither form acceptable; no list there; not a GET.
    assert_eq!(get(Some("text/html"), None).await.unwrap().status(), 406);
    let missing = client
        .get(format!("{base}/lists/999"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let post = client.post(&url).send().await.unwrap();
    assert_eq!(post.status(), 405);

    // A conditional GET with the current tag: 304, no body.
    let unchanged = get(Some("application/statuslist+jwt"), Some(etag.clone()))
        .await
        .unwrap();
    assert_eq!(unchanged.status(), 304);
    assert_eq!(unchanged.headers()["etag"].to_str().unwrap(), etag);

    // gzip when asked for.
    let raw = reqwest::Client::builder()
        .use_preconfigured_tls(kmid_server::tls_client_config().unwrap())
        .no_gzip()
        .build()
        .unwrap();
    let gzipped = raw
        .get(&url)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.status(), 200);
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");

    // Nothing changed: no new publication before `refresh`.
    assert!(
        !publisher
            .tick(&service, latest(&issuer), now(), |at| issuer
                .publish(at, TTL)
                .map_err(|e| e.to_string()))
            .unwrap()
    );
    // The card is lost: the event log moves, the lists are published again, and the client
    // with the old tag gets the new token, where the credential is no longer VALID.
    issuer
        .registry()
        .report_card_lost(
            &issuer.card_key(&card).unwrap(),
            &Actor {
                who: "test",
                at: now(),
                reason: "card lost",
            },
        )
        .unwrap();
    assert!(
        publisher
            .tick(&service, latest(&issuer), now(), |at| issuer
                .publish(at, TTL)
                .map_err(|e| e.to_string()))
            .unwrap()
    );
    let changed = get(Some("application/statuslist+jwt"), Some(etag.clone()))
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    let token = changed.bytes().await.unwrap();
    assert_ne!(token, jwt);
    let list = verify_token(
        &token,
        &uri,
        now(),
        &TokenKeys::X5c(trust),
        &TokenPolicy::default(),
    )
    .unwrap();
    assert_ne!(list.list.get(index).unwrap(), 0, "no longer VALID");
    let _ = stop.send(());
}
