//! The wallet's HTTPS client: reqwest on rustls (kmid-server's client configuration, the
//! Mozilla roots and any `--ca-file`), HTTPS only, no redirects followed (the OpenID4VCI
//! client follows the authorization redirect itself), bodies bounded, time bounded. It is
//! the transport of `kmid wallet receive` and `kmid wallet present` against live services.

use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

use kmid::oid4vc::vci::http::{HttpClient, HttpRequest, HttpResponse};

use crate::commands::Error;

/// The most a response body may be.
const MAX_RESPONSE: u64 = 8 << 20;

/// An HTTPS client.
pub(crate) struct Https {
    client: reqwest::blocking::Client,
}

impl Https {
    /// A client trusting the Mozilla roots and the CA certificates in `ca_file` (PEM).
    pub(crate) fn new(ca_file: Option<&Path>) -> Result<Self, Error> {
        let roots = match ca_file {
            Some(file) => crate::commands::pem_certificates(file)?,
            None => Vec::new(),
        };
        let client = reqwest::blocking::Client::builder()
            .use_preconfigured_tls(kmid_server::tls_client_config_with(&roots)?)
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .no_proxy()
            .build()?;
        Ok(Self { client })
    }

    fn exchange(&self, request: reqwest::blocking::RequestBuilder) -> Result<HttpResponse, String> {
        let response = request.send().map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let mut body = Vec::new();
        response
            .take(MAX_RESPONSE + 1)
            .read_to_end(&mut body)
            .map_err(|e| e.to_string())?;
        if u64::try_from(body.len()).unwrap_or(u64::MAX) > MAX_RESPONSE {
            return Err("the response is larger than 8 MiB".into());
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    /// `POST url` with a form body.
    pub(crate) fn post_form(&self, url: &str, body: &str) -> Result<HttpResponse, String> {
        self.exchange(
            self.client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_owned()),
        )
    }
}

impl HttpClient for Https {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        let mut builder = match request.method {
            "GET" => self.client.get(&request.url),
            _ => self.client.post(&request.url).body(request.body.clone()),
        };
        for (k, v) in &request.headers {
            builder = builder.header(k, v);
        }
        self.exchange(builder)
    }
}

/// A Request Object from a `200` with its media type.
fn request_object(response: HttpResponse) -> Result<Vec<u8>, String> {
    let kind = response
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    if response.status != 200 || !kind.starts_with("application/oauth-authz-req+jwt") {
        return Err(format!("{} {kind}", response.status));
    }
    Ok(response.body)
}

impl kmid::RequestObjectFetcher for Https {
    fn get(&self, request_uri: &str) -> Result<Vec<u8>, String> {
        request_object(self.exchange(self.client.get(request_uri))?)
    }

    fn post(&self, request_uri: &str, body: &str) -> Result<Vec<u8>, String> {
        request_object(self.post_form(request_uri, body)?)
    }
}
