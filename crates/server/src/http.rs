//! etcd's plain HTTP endpoints, served on the client listeners beside gRPC (etcd's
//! `etcdhttp.HandleBasic`): `GET /health`, `GET /version` and `/metrics`; and the
//! `--listen-metrics-urls` listeners, which serve `/metrics` and `/health` only.
//!
//! Bodies, status codes and headers are etcd 3.4.23's: failures are written as Go's
//! `http.Error` writes them (text/plain, `X-Content-Type-Options: nosniff`, a trailing
//! newline), and client listeners add etcd's CORS headers. The gRPC routes of a client
//! listener are wrapped to count calls in `grpc_server_started_total` and
//! `grpc_server_handled_total` ([`crate::metrics::GrpcMetrics`]).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use etcd_proto::etcdserverpb::AlarmType;
use http_body::{Body as HttpBody, Frame};

use crate::alarms::describe;
use crate::backend::{EtcdBackend, SERVER_VERSION};
use crate::metrics::{Metrics, CLUSTER_VERSION};

/// How long the health check's quorum read may take (etcd's `QGET` timeout).
const HEALTH_READ_TIMEOUT: Duration = Duration::from_secs(1);
const TEXT: &str = "text/plain; charset=utf-8";
const CORS: [(&str, &str); 3] = [
    (
        "access-control-allow-headers",
        "accept, content-type, authorization",
    ),
    (
        "access-control-allow-methods",
        "POST, GET, OPTIONS, PUT, DELETE",
    ),
    ("access-control-allow-origin", "*"),
];

/// A client listener's routes: the gRPC `grpc` routes (counted in the gRPC metrics) plus
/// `/health`, `/version` and `/metrics`; any other path is answered 404, or gRPC's
/// `Unimplemented` for a gRPC request.
pub fn client_routes(
    grpc: tonic::service::Routes,
    backend: Arc<EtcdBackend>,
) -> tonic::service::Routes {
    let grpc = grpc
        .into_axum_router()
        .layer(axum::middleware::from_fn_with_state(
            backend.metrics.clone(),
            count_grpc,
        ));
    let http = Router::new()
        .route(
            "/health",
            any(
                |State(b): State<Arc<EtcdBackend>>, m: Method, q: HealthQuery| async move {
                    with_cors(health(&b, &m, q).await)
                },
            ),
        )
        .route(
            "/version",
            any(|m: Method| async move { with_cors(version(&m)) }),
        )
        .route(
            "/metrics",
            any(|State(b): State<Arc<EtcdBackend>>| async move { with_cors(metrics(&b)) }),
        )
        .with_state(backend);
    grpc.merge(http)
        .fallback(|req: Request| async move {
            if is_grpc(req.headers()) {
                tonic::Status::unimplemented("").into_http()
            } else {
                with_cors(not_found())
            }
        })
        .into()
}

/// A `--listen-metrics-urls` listener's routes: `/metrics` and `/health`.
pub fn metrics_routes(backend: Arc<EtcdBackend>) -> tonic::service::Routes {
    Router::new()
        .route(
            "/health",
            any(
                |State(b): State<Arc<EtcdBackend>>, m: Method, q: HealthQuery| async move {
                    health(&b, &m, q).await
                },
            ),
        )
        .route(
            "/metrics",
            any(|State(b): State<Arc<EtcdBackend>>| async move { metrics(&b) }),
        )
        .fallback(|| async { not_found() })
        .with_state(backend)
        .into()
}

/// `/health`'s query: `exclude=NOSPACE` (repeatable) ignores active alarms of that type.
type HealthQuery = Query<Vec<(String, String)>>;

/// etcd's `checkHealth`: unhealthy while an alarm (not excluded) is active, without a
/// leader, or when a quorum read does not complete within a second.
async fn check_health(b: &EtcdBackend, excluded: &[String]) -> bool {
    for alarm in b.active_alarms() {
        let name = AlarmType::try_from(alarm.alarm).map_or("", |a| a.as_str_name());
        if excluded.iter().any(|e| e == name) {
            continue;
        }
        tracing::warn!("/health error due to {}", describe(&alarm));
        return false;
    }
    if b.raft.status().leader_id == 0 {
        tracing::warn!("/health error; no leader (status code 503)");
        return false;
    }
    match b.read_barrier_within(HEALTH_READ_TIMEOUT).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "/health error; quorum read failed (status code 503)");
            false
        }
    }
}

async fn health(b: &EtcdBackend, method: &Method, Query(query): HealthQuery) -> Response {
    if method != Method::GET {
        return method_not_allowed();
    }
    let excluded: Vec<String> = query
        .into_iter()
        .filter(|(k, _)| k == "exclude")
        .map(|(_, v)| v)
        .collect();
    if check_health(b, &excluded).await {
        b.metrics.health_success.inc();
        respond(StatusCode::OK, TEXT, r#"{"health":"true"}"#.to_string())
    } else {
        b.metrics.health_failures.inc();
        go_http_error(StatusCode::SERVICE_UNAVAILABLE, r#"{"health":"false"}"#)
    }
}

fn version(method: &Method) -> Response {
    if method != Method::GET {
        return method_not_allowed();
    }
    let body = format!(r#"{{"etcdserver":"{SERVER_VERSION}","etcdcluster":"{CLUSTER_VERSION}"}}"#);
    respond(StatusCode::OK, "application/json", body)
}

fn metrics(b: &EtcdBackend) -> Response {
    match b.metrics.render(&b.metrics_sample()) {
        Ok(text) => respond(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            text,
        ),
        Err(e) => {
            tracing::warn!(error = %e, "cannot render metrics");
            go_http_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
        }
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// Go's `http.Error(w, msg, status)`.
fn go_http_error(status: StatusCode, msg: &str) -> Response {
    let mut r = respond(status, TEXT, format!("{msg}\n"));
    r.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn method_not_allowed() -> Response {
    let mut r = go_http_error(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET"));
    r
}

/// Go's `http.NotFound`.
fn not_found() -> Response {
    go_http_error(StatusCode::NOT_FOUND, "404 page not found")
}

fn with_cors(mut r: Response) -> Response {
    for (name, value) in CORS {
        r.headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    r
}

fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// One gRPC call being counted.
struct Call {
    metrics: Arc<Metrics>,
    service: String,
    method: String,
    ty: &'static str,
}

impl Call {
    fn handled(self, code: &str) {
        self.metrics
            .grpc
            .handled(&self.service, &self.method, self.ty, code);
    }
}

/// The streaming kind of an etcd RPC, as go-grpc-prometheus labels it.
fn rpc_type(service: &str, method: &str) -> &'static str {
    match (service, method) {
        ("etcdserverpb.Watch", "Watch") | ("etcdserverpb.Lease", "LeaseKeepAlive") => "bidi_stream",
        ("etcdserverpb.Maintenance", "Snapshot") | ("v3electionpb.Election", "Observe") => {
            "server_stream"
        }
        _ => "unary",
    }
}

/// gRPC status code names as Go's `codes.Code.String()` spells them.
const CODE_NAMES: [&str; 17] = [
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];

/// The name of the `grpc-status` in `headers` (headers of a trailers-only response, or
/// trailers), if there is one.
fn status_code(headers: &HeaderMap) -> Option<&'static str> {
    let code = headers.get("grpc-status")?.to_str().ok()?;
    let name = code
        .parse::<usize>()
        .ok()
        .and_then(|n| CODE_NAMES.get(n).copied())
        .unwrap_or("Unknown");
    Some(name)
}

/// Counts a gRPC call when it starts and when its status is sent.
async fn count_grpc(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let name = req
        .uri()
        .path()
        .trim_start_matches('/')
        .split_once('/')
        .map(|(s, m)| (s.to_string(), m.to_string()));
    let Some((service, method)) = name.filter(|_| is_grpc(req.headers())) else {
        return next.run(req).await;
    };
    let ty = rpc_type(&service, &method);
    metrics.grpc.started(&service, &method, ty);
    let call = Call {
        metrics,
        service,
        method,
        ty,
    };
    let response = next.run(req).await;
    if let Some(code) = status_code(response.headers()) {
        call.handled(code);
        return response;
    }
    response.map(|inner| {
        Body::new(CountedBody {
            inner,
            call: Some(call),
        })
    })
}

/// A gRPC response body that counts its call as handled when the status trailers pass
/// (or as `Canceled` if the body is dropped before them: the client went away).
struct CountedBody {
    inner: Body,
    call: Option<Call>,
}

impl HttpBody for CountedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(code) = frame.trailers_ref().and_then(status_code) {
                if let Some(call) = self.call.take() {
                    call.handled(code);
                }
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for CountedBody {
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            call.handled("Canceled");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_status_names_are_go_names() {
        let mut h = HeaderMap::new();
        assert_eq!(status_code(&h), None);
        h.insert("grpc-status", HeaderValue::from_static("0"));
        assert_eq!(status_code(&h), Some("OK"));
        h.insert("grpc-status", HeaderValue::from_static("14"));
        assert_eq!(status_code(&h), Some("Unavailable"));
        h.insert("grpc-status", HeaderValue::from_static("99"));
        assert_eq!(status_code(&h), Some("Unknown"));
    }

    #[test]
    fn rpc_types() {
        assert_eq!(rpc_type("etcdserverpb.KV", "Put"), "unary");
        assert_eq!(rpc_type("etcdserverpb.Watch", "Watch"), "bidi_stream");
        assert_eq!(
            rpc_type("etcdserverpb.Maintenance", "Snapshot"),
            "server_stream"
        );
    }
}
