//! Wiring: keys and storage from the data directory (refused when it may hold less than the
//! log key signed), the sequencer thread, and one listener
//! serving gRPC (certlog.v1, health, reflection) and HTTP (tiles), over TCP or TLS, until
//! shutdown.

use std::future::{Future, IntoFuture as _};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use certlog_proto::services::admin_server::AdminServer;
use certlog_proto::services::certificate_log_server::CertificateLogServer;
use tokio::net::TcpListener;

use crate::config::ServeArgs;
use crate::cosigner::Cosigner;
use crate::grpc::{AdminService, CertificateLogService};
use crate::keys::load_or_create_keys;
use crate::limits::{Limited, no_delay};
use crate::log::Log;
use crate::metrics::Metrics;
use crate::tls::{Peer, TlsListener};
use crate::{history, http, sequencer};

/// How long a shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The largest gRPC request accepted: an entry is at most 64 KiB.
const MAX_REQUEST_BYTES: usize = 256 << 10;

/// Serves `app` on the connections of `listener` until `stop`, then lets requests in flight
/// finish. Handlers find the connection's [`Peer`] in their requests' extensions.
fn serve_on<L>(
    listener: L,
    app: axum::Router,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>
where
    L: Listener,
    L::Addr: std::fmt::Debug,
    Peer: for<'a> Connected<IncomingStream<'a, L>>,
{
    Box::pin(
        axum::serve(listener, app.into_make_service_with_connect_info::<Peer>())
            .with_graceful_shutdown(stop)
            .into_future(),
    )
}

/// Runs a log until `shutdown` completes; then stops taking requests, lets the sequencer finish
/// the batch in flight, and returns. `on_listening` gets the bound address (the port may be 0).
pub async fn serve(
    args: ServeArgs,
    on_listening: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Before anything is created: bad TLS files stop the start.
    let tls = args.tls_config().context("setting up TLS")?;
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("creating the data directory {}", args.data.display()))?;
    let cosigner_config = args.cosigner_config().map_err(anyhow::Error::msg)?;
    let keys = load_or_create_keys(&args.data, &args.origin, args.operator_vkey.as_deref())?;
    let opening = Instant::now();
    // Refused when the database may hold less than the log key signed.
    let (storage, signed) = history::open(&args.data, args.storage, &keys.log.verifier_key())?;
    // A start after a crash replays the journal here (see `Storage::flush`).
    tracing::info!(ms = opening.elapsed().as_millis() as u64, "storage opened");
    let metrics = Arc::new(Metrics::default());
    let started = sequencer::start(
        storage.clone(),
        keys.log.clone(),
        signed,
        args.batch_config(),
        metrics.clone(),
    )
    .context("starting the sequencer")?;
    let sequencer = started.handle.clone();
    let size = started.published.borrow().size;
    let mut sequencer_running = started.published.clone();
    let cosigner = Cosigner::start(
        cosigner_config,
        storage.clone(),
        started.published.clone(),
        metrics.clone(),
    )
    .map_err(anyhow::Error::msg)?;
    let log = Arc::new(
        Log::new(
            storage,
            &started,
            keys.operator,
            keys.log.verifier_key(),
            cosigner,
            metrics,
        )
        .with_rate_limit(args.rate_limit),
    );
    let sequencer_thread = started.thread;

    let client_ca = tls
        .as_ref()
        .is_some_and(|tls| tls.asks_for_client_certificates());
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<CertificateLogServer<CertificateLogService>>()
        .await;
    // A failed commit stops the sequencer for good, and may leave storage refusing reads too
    // (redb does until it is opened again): only a restart, from what is on disk, is safe. The
    // published state's sender ends with the sequencer: then health says NOT_SERVING, so that
    // an orchestrator restarts the log rather than keep routing requests it will refuse.
    tokio::spawn({
        let health = health.clone();
        async move {
            while sequencer_running.changed().await.is_ok() {}
            health
                .set_not_serving::<CertificateLogServer<CertificateLogService>>()
                .await;
            health
                .set_service_status("", tonic_health::ServingStatus::NotServing)
                .await;
        }
    });
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(certlog_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let grpc = tonic::service::Routes::new(
        CertificateLogServer::new(CertificateLogService(log.clone()))
            .max_decoding_message_size(MAX_REQUEST_BYTES),
    )
    .add_service(
        AdminServer::new(AdminService::new(log.clone(), client_ca))
            .max_decoding_message_size(MAX_REQUEST_BYTES),
    )
    .add_service(health_service)
    .add_service(reflection().build_v1()?)
    .add_service(reflection().build_v1alpha()?)
    .into_axum_router()
    .layer(axum::middleware::from_fn(crate::grpc::edge));
    let app = http::router(log).merge(grpc).fallback(http::not_found);

    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let (stop_serving, stopped) = tokio::sync::watch::channel(());
    let stopped = async move {
        let mut stopped = stopped;
        let _ = stopped.changed().await;
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let idle = Duration::from_secs(args.idle_timeout.max(1));
    let mut serving = match tls {
        None => serve_on(
            Limited::new(no_delay(listener), args.max_connections, idle),
            app,
            stopped,
        ),
        Some(config) => serve_on(
            Limited::new(
                TlsListener::new(listener, config),
                args.max_connections,
                idle,
            ),
            app,
            stopped,
        ),
    };
    tracing::info!(%addr, %scheme, client_ca, origin = %args.origin, size, "certlogd serving");
    on_listening(addr);
    tokio::select! {
        result = &mut serving => result?,
        () = shutdown => {
            tracing::info!("shutting down");
            health
                .set_not_serving::<CertificateLogServer<CertificateLogService>>()
                .await;
            let _ = stop_serving.send(());
            // Requests in flight may finish; a connection that does not close is not waited for.
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut serving).await.is_err() {
                tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}: closing them");
            }
        }
    }
    // The sequencer integrates the batch it holds, then stops; what is still queued was never
    // acknowledged and is refused.
    tokio::task::spawn_blocking(move || {
        sequencer.stop();
        sequencer_thread.join()
    })
    .await?
    .map_err(|_| anyhow::anyhow!("the sequencer thread panicked"))?;
    Ok(())
}
