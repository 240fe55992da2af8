//! The controller's HTTP port: `/metrics` for Prometheus, `/healthz`, and the artifacts
//! as tarballs (`status.artifact.url`), as Flux's source-controller serves them.
//!
//! Must not: change anything; every route only reads.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

use super::metrics as names;
use super::store::ArtifactStore;

/// What the server answers from.
#[derive(Clone)]
pub struct Routes {
    pub store: Arc<ArtifactStore>,
    pub metrics: PrometheusHandle,
}

/// Binds `address` and serves until the task is dropped. Returns the bound address (the
/// port may have been 0).
pub async fn serve(
    address: SocketAddr,
    routes: Routes,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "failed to accept an HTTP connection");
                    continue;
                }
            };
            let routes = routes.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let routes = routes.clone();
                    async move { Ok::<_, Infallible>(answer(&routes, &request).await) }
                });
                if let Err(error) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(%error, "HTTP connection ended with an error");
                }
            });
        }
    });
    Ok((bound, task))
}

async fn answer(routes: &Routes, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET is served\n");
    }
    match request.uri().path() {
        "/metrics" => {
            let body = routes.metrics.render();
            Response::builder()
                .header("content-type", "text/plain; version=0.0.4")
                .body(Full::new(Bytes::from(body)))
                .unwrap_or_else(|_| text(StatusCode::INTERNAL_SERVER_ERROR, ""))
        }
        "/healthz" | "/readyz" => text(StatusCode::OK, "ok\n"),
        path => artifact(routes, path.trim_start_matches('/')).await,
    }
}

async fn artifact(routes: &Routes, path: &str) -> Response<Full<Bytes>> {
    let response = match routes.store.tarball(path) {
        None => text(StatusCode::NOT_FOUND, "no such artifact\n"),
        Some(file) => match tokio::fs::read(&file).await {
            Ok(bytes) => Response::builder()
                .header("content-type", "application/gzip")
                .body(Full::new(Bytes::from(bytes)))
                .unwrap_or_else(|_| text(StatusCode::INTERNAL_SERVER_ERROR, "")),
            // Collected between the lookup and the read: as good as never there.
            Err(_) => text(StatusCode::NOT_FOUND, "no such artifact\n"),
        },
    };
    metrics::counter!(names::ARTIFACT_REQUESTS, "status" => response.status().as_u16().to_string())
        .increment(1);
    response
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}
