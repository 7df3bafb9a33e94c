//! What the service tests share: a router served on loopback from a runtime of its own.

#![allow(dead_code, clippy::unwrap_used)]

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
        time::OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000
    );
    let mut admin = postgres::Client::connect(&cluster, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    Some(format!("{}/{name}", cluster.rsplit_once('/').unwrap().0))
}
