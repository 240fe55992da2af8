//! Every metric driftless exports, named in one place, and the Prometheus recorder.
//!
//! Flux's one reconcile metric keeps its name and labels, so existing dashboards and
//! alerts work unchanged; driftless's own metrics start with `driftless_`.

use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Flux's histogram of reconcile durations, labels `kind`, `name`, `namespace`.
pub const RECONCILE_DURATION: &str = "gotk_reconcile_duration_seconds";
/// Fetches that failed, labels `kind`, `name`, `namespace`, `reason`.
pub const FETCH_FAILURES: &str = "driftless_source_fetch_failures_total";
/// Size in bytes of each source's current artifact, labels `kind`, `name`, `namespace`.
pub const ARTIFACT_SIZE: &str = "driftless_source_artifact_size_bytes";
/// 1 while a source is Ready, else 0, labels `kind`, `name`, `namespace`.
pub const SOURCE_READY: &str = "driftless_source_ready";
/// Reconciles by outcome, labels `kind`, `name`, `namespace`, `result` (`done`, `failed`,
/// `stalled`, `suspended`, ...): Kustomizations and GitRepositories.
pub const RECONCILES: &str = "driftless_reconciles_total";
/// 1 while a Kustomization's last reconcile succeeded, else 0, labels `kind`, `name`,
/// `namespace`.
pub const KUSTOMIZATION_READY: &str = "driftless_kustomization_ready";
/// 1 while a Kustomization is suspended, else 0, labels `kind`, `name`, `namespace`.
pub const SUSPENDED: &str = "driftless_suspended";
/// Objects in a Kustomization's inventory after its last successful reconcile.
pub const MANAGED_OBJECTS: &str = "driftless_managed_objects";
/// Objects written or deleted, labels `kind`, `name`, `namespace`, `action` (`created`,
/// `configured`, `deleted`).
pub const OBJECTS_CHANGED: &str = "driftless_objects_changed_total";
/// Changes of applied objects found to be drift, labels `kind`, `name`, `namespace` (the
/// Kustomization), `object_kind`.
pub const DRIFT_DETECTED: &str = "driftless_drift_detected_total";
/// Drifted objects applied again, labels as [`DRIFT_DETECTED`].
pub const DRIFT_CORRECTIONS: &str = "driftless_drift_corrections_total";
/// Objects of a Kustomization that differ from Git right now, labels `kind`, `name`,
/// `namespace`.
pub const DRIFTED_OBJECTS: &str = "driftless_drifted_objects";
/// When a Kustomization last saw drift (Unix seconds), labels `kind`, `name`, `namespace`.
pub const LAST_DRIFT: &str = "driftless_last_drift_timestamp_seconds";
/// Seconds from a drifting change reaching the controller to the object applied again.
pub const DRIFT_CORRECTION_DURATION: &str = "driftless_drift_correction_duration_seconds";
/// Seconds a Git fetch took (listing refs, fetching, and checking out the tree into an
/// artifact), labels `kind`, `name`, `namespace`.
pub const FETCH_DURATION: &str = "driftless_source_fetch_duration_seconds";
/// Actors alive, label `kind` (`GitRepository`, `Kustomization`).
pub const ACTORS: &str = "driftless_actors";
/// Reconciles running now, label `kind`.
pub const RECONCILES_IN_FLIGHT: &str = "driftless_reconciles_in_flight";
/// Artifacts served over HTTP, label `status` (the HTTP status code).
pub const ARTIFACT_REQUESTS: &str = "driftless_artifact_requests_total";

/// Flux's buckets: 10 exponential buckets from 10 ms to 1800 s.
fn reconcile_buckets() -> Vec<f64> {
    let (first, last, count) = (0.01_f64, 1800.0_f64, 10);
    let factor = (last / first).powf(1.0 / (count - 1) as f64);
    (0..count).map(|index| first * factor.powi(index)).collect()
}

/// The process-wide recorder's handle, which renders the `/metrics` page. The recorder is
/// installed by the first call; later calls (several controllers in one test process)
/// share it, so every page shows every series.
pub fn install() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full(RECONCILE_DURATION.to_string()),
                    &reconcile_buckets(),
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder was installed first (not ours): this page stays empty
                // rather than the controller failing to start.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

/// Labels of a source's series.
pub fn source_labels(kind: &str, namespace: &str, name: &str) -> [(&'static str, String); 3] {
    [
        ("kind", kind.to_string()),
        ("name", name.to_string()),
        ("namespace", namespace.to_string()),
    ]
}

/// Counts one reconcile by its result.
pub fn count_reconcile(kind: &str, namespace: &str, name: &str, result: &str) {
    let [kind, name, namespace] = source_labels(kind, namespace, name);
    metrics::counter!(
        RECONCILES,
        &[kind, name, namespace, ("result", result.to_string())]
    )
    .increment(1);
}

/// Counts an actor of `kind` alive from `started` until `stopped`.
pub fn actor_started(kind: &str) {
    metrics::gauge!(ACTORS, "kind" => kind.to_string()).increment(1.0);
}

pub fn actor_stopped(kind: &str) {
    metrics::gauge!(ACTORS, "kind" => kind.to_string()).decrement(1.0);
}

/// A reconcile of `kind` in flight, counted while this value lives (so a reconcile that
/// is cancelled or panics is not counted forever).
pub struct InFlight(String);

impl InFlight {
    pub fn start(kind: &str) -> Self {
        metrics::gauge!(RECONCILES_IN_FLIGHT, "kind" => kind.to_string()).increment(1.0);
        Self(kind.to_string())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!(RECONCILES_IN_FLIGHT, "kind" => self.0.clone()).decrement(1.0);
    }
}

/// Records one reconcile's duration.
pub fn observe_reconcile(kind: &str, namespace: &str, name: &str, took: Duration) {
    metrics::histogram!(RECONCILE_DURATION, &source_labels(kind, namespace, name))
        .record(took.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_span_flux_range() {
        let buckets = reconcile_buckets();
        assert_eq!(buckets.len(), 10);
        assert!((buckets[0] - 0.01).abs() < 1e-12);
        assert!((buckets[9] - 1800.0).abs() < 1e-6);
        assert!(buckets.windows(2).all(|pair| pair[0] < pair[1]));
    }
}
