//! The operations layer over real HTTP on loopback: a handler that panics is answered 500
//! (the panic's message not sent) and the service goes on answering; the rate limit answers
//! 429 with `Retry-After`; a body sent too slowly is answered 408.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use kmid_server::ops::{OpsState, RateLimiter, read_body, with_operations};

mod common;
use common::serve;

fn app(limiter: Option<Arc<RateLimiter>>) -> Router {
    let router = Router::new()
        .route("/ok", get(|| async { "fine" }))
        .route(
            "/boom",
            get(|| async {
                panic!("a secret the client must not see");
                #[allow(unreachable_code)]
                "never"
            }),
        )
        .route(
            "/echo",
            post(|request: axum::extract::Request| async move {
                match read_body(request.into_body(), 1024).await {
                    Ok(body) => axum::response::IntoResponse::into_response(body.len().to_string()),
                    Err(refused) => refused,
                }
            }),
        );
    with_operations(
        router,
        OpsState {
            service: "test",
            request_timeout: Duration::from_millis(500),
            limiter,
        },
    )
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .use_preconfigured_tls(kmid_server::tls_client_config().unwrap())
        .build()
        .unwrap()
}

#[test]
fn a_panic_is_a_500_and_the_service_goes_on() {
    let (base, _stop) = serve(app(None));
    let http = client();
    let response = http.get(format!("{base}/boom")).send().unwrap();
    assert_eq!(response.status().as_u16(), 500);
    let text = response.text().unwrap();
    assert!(!text.contains("secret"), "{text}");
    assert_eq!(
        http.get(format!("{base}/ok"))
            .send()
            .unwrap()
            .text()
            .unwrap(),
        "fine"
    );
    // Bodies: within the limit, over it.
    let echo = |body: Vec<u8>| http.post(format!("{base}/echo")).body(body).send().unwrap();
    assert_eq!(echo(vec![b'x'; 1000]).text().unwrap(), "1000");
    assert_eq!(echo(vec![b'x'; 2000]).status().as_u16(), 413);
}

#[test]
fn a_body_sent_too_slowly_is_a_408() {
    use std::io::{Read as _, Write as _};
    let (base, _stop) = serve(app(None));
    let address = base.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // Announces 100 bytes and sends 10, then waits past the 500 ms the body may take.
    write!(
        stream,
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[test]
fn the_rate_limit_answers_429_with_retry_after() {
    let (base, _stop) = serve(app(Some(Arc::new(RateLimiter::new(1, 3)))));
    let http = client();
    let statuses: Vec<u16> = (0..5)
        .map(|_| {
            http.get(format!("{base}/ok"))
                .send()
                .unwrap()
                .status()
                .as_u16()
        })
        .collect();
    assert_eq!(statuses[..3], [200, 200, 200], "{statuses:?}");
    assert_eq!(statuses[3], 429, "{statuses:?}");
    let limited = http.get(format!("{base}/ok")).send().unwrap();
    assert_eq!(limited.status().as_u16(), 429);
    assert_eq!(
        limited.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
}
