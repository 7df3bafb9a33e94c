//! OpenID4VCI over HTTP without doing any: the requests and responses as values, and the
//! issuer's endpoints answering them ([`IssuanceServer::handle`]) with the status codes,
//! headers and error bodies the specifications give — `400` with `{"error": …}` at the token
//! and PAR endpoints (`401` for `invalid_client`), `401` with `WWW-Authenticate: DPoP
//! error="…"` for a token or DPoP refusal at a resource, a fresh `DPoP-Nonce` on every token,
//! credential and notification response, `Cache-Control: no-store` on secrets. A web framework
//! turns its requests into [`HttpRequest`] and sends back the [`HttpResponse`]; the wallet's
//! client ([`super::wallet`]) sends [`HttpRequest`]s through the caller's [`HttpClient`].

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::VciError;
use super::metadata::{AS_WELL_KNOWN, ISSUER_WELL_KNOWN, well_known_url};
use super::server::{CredentialMinter, IssuanceServer, Notification, RequestContext};

/// An HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The absolute URL.
    pub url: String,
    /// Header names and values (names compared case-insensitively).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// An HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The first value of header `name`.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

impl HttpResponse {
    /// The first value of header `name`.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// A JSON response, `no-store` (every endpoint's answer here is per request).
    #[must_use]
    pub fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Cache-Control".into(), "no-store".into()),
            ],
            body: body.to_string().into_bytes(),
        }
    }

    fn with(mut self, name: &str, value: String) -> Self {
        self.headers.push((name.to_owned(), value));
        self
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// How a wallet sends requests: the caller's HTTP client (TLS, timeouts, size limits).
pub trait HttpClient {
    /// Sends `request` and returns the response, or why there is none.
    ///
    /// # Errors
    /// A description of the transport failure.
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String>;
}

/// What an endpoint answered that the caller acts on besides the response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Nothing more.
    Nothing,
    /// A notification for the registry.
    Notification(Notification),
}

impl IssuanceServer<'_> {
    fn error_response(&self, e: &VciError, resource: bool, at: OffsetDateTime) -> HttpResponse {
        let error = e.oauth_error();
        // RFC 6749 §5.2: error_description is printable ASCII without `"` and `\`; what
        // went wrong inside the server is not the client's to read.
        let description: String = match e {
            VciError::Store(_) | VciError::Crypto(_) => "server error".into(),
            _ => e
                .to_string()
                .chars()
                .map(|c| {
                    if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                        c
                    } else {
                        ' '
                    }
                })
                .take(256)
                .collect(),
        };
        let body = json!({ "error": error, "error_description": description });
        let dpop_problem = matches!(e, VciError::Dpop(_)) || matches!(e, VciError::InvalidToken(_));
        let status = match e {
            VciError::InvalidClient(_) => 401,
            VciError::Store(_) | VciError::Crypto(_) => 500,
            _ if resource && dpop_problem => 401,
            _ => 400,
        };
        let mut response = HttpResponse::json(status, &body);
        if resource && dpop_problem {
            response = response.with(
                "WWW-Authenticate",
                format!("DPoP error=\"{error}\", algs=\"ES256 ES384 EdDSA\""),
            );
        }
        // A DPoP refusal, and any refusal at a resource, carries a fresh nonce to retry with
        // (RFC 9449 §8, §9).
        if (resource || matches!(e, VciError::Dpop(_)))
            && let Ok(nonce) = self.dpop_nonce(at)
        {
            response = response.with("DPoP-Nonce", nonce);
        }
        response
    }

    /// Answers an HTTP request to one of the issuer's endpoints, found by its URL: the two
    /// well-known metadata documents (`GET`); the metadata's nonce, credential and notification
    /// endpoints and the Authorization Server's PAR and token endpoints (`POST`). The authorization page is
    /// the caller's (it authenticates the holder: [`IssuanceServer::authorize`]).
    #[must_use]
    pub fn handle(
        &self,
        request: &HttpRequest,
        minter: &dyn CredentialMinter,
        at: OffsetDateTime,
    ) -> (HttpResponse, Handled) {
        let issuer = self.issuer_id().to_owned();
        let not_found = || {
            (
                HttpResponse::json(404, &json!({ "error": "not_found" })),
                Handled::Nothing,
            )
        };
        // The metadata documents are at the well-known URLs.
        let metadata_url = well_known_url(&issuer, ISSUER_WELL_KNOWN).unwrap_or_default();
        let as_url = well_known_url(&issuer, AS_WELL_KNOWN).unwrap_or_default();
        let url = request.url.split(['?', '#']).next().unwrap_or_default();
        if request.method == "GET" && url == metadata_url {
            return (
                HttpResponse::json(
                    200,
                    &serde_json::to_value(self.metadata()).unwrap_or_default(),
                ),
                Handled::Nothing,
            );
        }
        if request.method == "GET" && url == as_url {
            return (
                HttpResponse::json(200, &self.authorization_server_metadata()),
                Handled::Nothing,
            );
        }
        if request.method != "POST" {
            return not_found();
        }
        // The scheme is case-insensitive (RFC 9110 §11.1).
        let authorization = request.header("Authorization").and_then(|a| {
            a.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("DPoP"))
                .map(|(_, token)| token.trim())
        });
        let attestation = request
            .header(super::client_attestation::ATTESTATION_HEADER)
            .zip(request.header(super::client_attestation::ATTESTATION_POP_HEADER));
        let ctx = RequestContext {
            dpop: request.header("DPoP"),
            client_attestation: attestation,
            access_token: authorization,
            url: &request.url,
            method: request.method,
        };
        let fresh_nonce = |response: HttpResponse| match self.dpop_nonce(at) {
            Ok(nonce) => response.with("DPoP-Nonce", nonce),
            Err(_) => response,
        };
        let body = &request.body;
        let metadata = self.metadata();
        let is = |endpoint: Option<&String>| endpoint.is_some_and(|e| e == url);
        let path = if is(metadata.nonce_endpoint.as_ref()) {
            "/nonce"
        } else if is(Some(&self.par_endpoint())) {
            "/par"
        } else if is(Some(&self.token_endpoint())) {
            "/token"
        } else if is(Some(&metadata.credential_endpoint)) {
            "/credential"
        } else if is(metadata.notification_endpoint.as_ref()) {
            "/notification"
        } else {
            return not_found();
        };
        match path {
            "/nonce" => match self.nonce(at) {
                Ok(c_nonce) => (
                    fresh_nonce(HttpResponse::json(200, &json!({ "c_nonce": c_nonce }))),
                    Handled::Nothing,
                ),
                Err(e) => (self.error_response(&e, false, at), Handled::Nothing),
            },
            "/par" => match self.par(body, &ctx, at) {
                Ok(par) => (
                    HttpResponse::json(201, &serde_json::to_value(par).unwrap_or_default()),
                    Handled::Nothing,
                ),
                Err(e) => (self.error_response(&e, false, at), Handled::Nothing),
            },
            "/token" => match self.token(body, &ctx, at) {
                Ok(token) => (
                    fresh_nonce(HttpResponse::json(
                        200,
                        &serde_json::to_value(token).unwrap_or_default(),
                    )),
                    Handled::Nothing,
                ),
                Err(e) => (self.error_response(&e, false, at), Handled::Nothing),
            },
            "/credential" => match self.credential(body, &ctx, minter, at) {
                Ok(response) => (
                    fresh_nonce(HttpResponse::json(
                        200,
                        &serde_json::to_value(response).unwrap_or_default(),
                    )),
                    Handled::Nothing,
                ),
                Err(e) => (self.error_response(&e, true, at), Handled::Nothing),
            },
            "/notification" => match self.notification(body, &ctx, at) {
                Ok(event) => (
                    fresh_nonce(HttpResponse {
                        status: 204,
                        headers: Vec::new(),
                        body: Vec::new(),
                    }),
                    Handled::Notification(event),
                ),
                Err(e) => (self.error_response(&e, true, at), Handled::Nothing),
            },
            _ => not_found(),
        }
    }
}
