//! What the service tests share: a router served on loopback from a runtime of its own.

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use kmid::crypto::x509::{CertificateKind, CertificateParams, TrustStore, issue_certificate};
use kmid::crypto::{Curve, PrivateKey, SystemRandom};
use kmid::oid4vc::vci::http::{HttpClient, HttpRequest, HttpResponse};
use time::OffsetDateTime;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

/// Serves `router` on an ephemeral loopback port from a runtime of its own (the client under
/// test is blocking); returns the base URL and what stops it.
pub(crate) fn serve(router: axum::Router) -> (String, tokio::sync::oneshot::Sender<()>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (ready, address) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            ready.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
    });
    (format!("http://{}", address.recv().unwrap()), stop)
}

/// A fresh database on the test cluster (`KMID_POSTGRES_URL`, which the README's test command
/// starts), as a URL; `None` without the cluster.
#[cfg(feature = "postgres")]
pub(crate) fn postgres_database(tag: &str) -> Option<String> {
    let cluster = std::env::var("KMID_POSTGRES_URL").ok()?;
    let name = format!(
        "kmid_{tag}_{}_{}",
        std::process::id(),
        OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000
    );
    let mut admin = postgres::Client::connect(&cluster, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    Some(format!("{}/{name}", cluster.rsplit_once('/').unwrap().0))
}

/// A relying party's access PKI: the root wallets trust and the leaf that signs requests.
pub(crate) fn access_pki() -> (
    TrustStore,
    Arc<dyn kmid::crypto::Signer>,
    kmid::crypto::x509::Certificate,
) {
    let params = |kind, cn: &str, dns: Vec<String>| CertificateParams {
        kind,
        country: "KR".into(),
        organization: Some("Example Bank".into()),
        state_or_province: None,
        common_name: cn.into(),
        not_before: now() - time::Duration::days(1),
        not_after: now() + time::Duration::days(30),
        issuer_alt_name: None,
        crl_uri: None,
        dns_names: dns,
    };
    let root_key = PrivateKey::generate(Curve::P256).unwrap();
    let root = issue_certificate(
        &params(CertificateKind::ReaderRoot, "RP access CA", vec![]),
        root_key.public_key(),
        None,
        &root_key,
        &SystemRandom,
    )
    .unwrap();
    let key = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let leaf = issue_certificate(
        &params(
            CertificateKind::ReaderAuthentication,
            "Example Bank",
            vec!["rp.kmid.invalid".into()],
        ),
        key.public_key(),
        Some(&root),
        &root_key,
        &SystemRandom,
    )
    .unwrap();
    let mut trust = TrustStore::new();
    trust.add(root).unwrap();
    (trust, key, leaf)
}

/// The wallet's transport: the issuer's public origin is the loopback service.
pub(crate) struct Loopback {
    pub(crate) origin: String,
    pub(crate) base: String,
    pub(crate) client: reqwest::blocking::Client,
}

impl HttpClient for Loopback {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        let url = request
            .url
            .strip_prefix(&self.origin)
            .map(|path| format!("{}{path}", self.base))
            .ok_or("not the issuer's URL")?;
        let mut builder = match request.method {
            "GET" => self.client.get(&url),
            _ => self.client.post(&url).body(request.body.clone()),
        };
        for (k, v) in &request.headers {
            builder = builder.header(k, v);
        }
        let response = builder.send().map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = response.bytes().map_err(|e| e.to_string())?.to_vec();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}
