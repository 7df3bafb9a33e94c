//! The relying party's page (`kmid serve`'s demonstration, at `/`): a clerk picks a request
//! template, the page makes a transaction with the verifier's API and shows its QR code and a
//! same-device link, then the verified claims (the photo as an image; the registration number
//! only when the template had a legal basis, which the service enforces) or the reason for a
//! refusal. Static files, served with a Content-Security-Policy that allows only this origin's
//! script and style and `data:` images; the page calls the API at `verifier/…` relative to
//! itself, so it works only where that API is open to it (the demonstration on loopback).

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

const INDEX: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/page.js");
const STYLE: &str = include_str!("page/page.css");

/// What every file of the page is served with.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

fn file(kind: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
}

/// The page's router: `/`, `/page.js`, `/page.css`, to mount at the root of the origin the
/// verifier's API is under (`/verifier`).
pub fn router() -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { file("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/page.js",
            get(|| async { file("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/page.css",
            get(|| async { file("text/css; charset=utf-8", STYLE) }),
        )
}
