//! The database over TLS (`kmid_status::postgres::Database::with_tls`, `kmid serve`'s
//! `database_ca`): a cluster of the test's own that takes TLS only (`scripts/pg.sh
//! start-tls`), the stores reaching it through rustls with the test CA as the one root; a
//! client in the clear and a client trusting another CA are both refused.

#![cfg(feature = "postgres")]
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use kmid::crypto::x509::{Certificate, CertificateKind, CertificateParams, issue_certificate};
use kmid::crypto::{Curve, PrivateKey, SystemRandom};
use kmid::status::postgres::PostgresStore;
use kmid::status::registry::{RegistryStore, StoreTx};
use kmid_server::fetch::tls_client_config_only;
use kmid_server::postgres::{Database, PostgresTransactionStore};
use time::OffsetDateTime;

fn params(kind: CertificateKind, cn: &str, dns: &[&str]) -> CertificateParams {
    let now = OffsetDateTime::now_utc();
    CertificateParams {
        kind,
        country: "KR".into(),
        organization: Some("kmid database test".into()),
        state_or_province: None,
        common_name: cn.into(),
        not_before: now - time::Duration::days(1),
        not_after: now + time::Duration::days(30),
        issuer_alt_name: None,
        crl_uri: None,
        dns_names: dns.iter().map(|d| (*d).to_owned()).collect(),
    }
}

/// A CA, and a server certificate and key for `localhost` under it.
fn pki() -> (Certificate, Certificate, PrivateKey) {
    let ca_key = PrivateKey::generate(Curve::P256).unwrap();
    let ca = issue_certificate(
        &params(CertificateKind::ReaderRoot, "database test CA", &[]),
        ca_key.public_key(),
        None,
        &ca_key,
        &SystemRandom,
    )
    .unwrap();
    let key = PrivateKey::generate(Curve::P256).unwrap();
    let server = issue_certificate(
        &params(CertificateKind::TlsServer, "localhost", &["localhost"]),
        key.public_key(),
        Some(&ca),
        &ca_key,
        &SystemRandom,
    )
    .unwrap();
    (ca, server, key)
}

struct Cluster(PathBuf);

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["stop"])
            .arg(&self.0)
            .status();
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg.sh")
}

#[test]
fn the_database_is_reached_over_tls_only_and_checked() {
    // The cluster's presence says PostgreSQL is installed; this test runs one of its own.
    if std::env::var("KMID_POSTGRES_URL").is_err() {
        eprintln!("KMID_POSTGRES_URL is not set: the database TLS test checks nothing");
        return;
    }
    let (ca, server, key) = pki();
    let files = std::env::temp_dir().join(format!("kmid-pg-tls-files-{}", std::process::id()));
    std::fs::create_dir_all(&files).unwrap();
    let (cert_file, key_file) = (files.join("server.crt"), files.join("server.key"));
    std::fs::write(
        &cert_file,
        format!("{}{}", server.to_pem().unwrap(), ca.to_pem().unwrap()),
    )
    .unwrap();
    std::fs::write(&key_file, key.to_pkcs8_pem().unwrap()).unwrap();
    let dir = std::env::temp_dir().join(format!("kmid-pg-tls-{}", std::process::id()));
    let out = Command::new("bash")
        .arg(script())
        .arg("start-tls")
        .arg(&dir)
        .arg(&cert_file)
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _cluster = Cluster(dir);
    let url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(url.contains("@localhost:"), "{url}");

    // Trusting the test CA: the stores work (the registry's schema migrated, a rule run).
    let tls = Arc::new(tls_client_config_only(&[ca.der().to_vec()]).unwrap());
    let database = Database::new(url.as_str()).with_tls(Arc::clone(&tls));
    PostgresTransactionStore::connect(&database).unwrap();
    let registry = PostgresStore::connect(&database, "tls", 1).unwrap();
    let lists = registry
        .transaction(|tx: &mut dyn StoreTx| {
            tx.insert_list("https://status.example/lists/1", 2, 1024)?;
            tx.lists()
        })
        .unwrap();
    assert_eq!(lists.len(), 1);

    // In the clear: the server refuses (pg_hba: hostnossl … reject).
    let clear = PostgresTransactionStore::connect(&Database::new(url.as_str()))
        .unwrap_err()
        .to_string();
    assert!(
        clear.contains("pg_hba.conf rejects connection") && clear.contains("no encryption"),
        "{clear}"
    );

    // Trusting another CA: the client refuses the server's certificate.
    let (other_ca, _, _) = pki();
    let other = Database::new(url.as_str()).with_tls(Arc::new(
        tls_client_config_only(&[other_ca.der().to_vec()]).unwrap(),
    ));
    let refused = PostgresTransactionStore::connect(&other)
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("TLS handshake") && refused.contains("invalid peer certificate"),
        "{refused}"
    );
    // No root at all is a configuration error, not a connection that trusts everything.
    assert!(
        tls_client_config_only(&[])
            .unwrap_err()
            .to_string()
            .contains("no root to trust")
    );
    std::fs::remove_dir_all(files).ok();
}
