//! Whether an applied object is healthy, as kstatus (sigs.k8s.io/cli-utils
//! `pkg/kstatus/status`) computes it for Flux's health checks, and which objects a
//! Kustomization's health check covers.
//!
//! Plain functions over live objects as JSON; the waiting and reading is done by
//! [`crate::apply::Applier::wait_healthy`]. Where Flux replaces a kstatus rule (Jobs), Flux's
//! rule is followed: a Flux user's `wait: true` waits for a Job to complete.
//!
//! Must not: read from the API server.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::api::inventory::{ObjectId, ResourceInventory};
use crate::api::meta::NamespacedObjectKindReference;

/// The health of one live object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Fully reconciled by its controller.
    Current,
    /// Its controller is still working towards the spec; the message says on what.
    InProgress(String),
    /// Its controller has given up (a rollout past its deadline, a failed Job, `Stalled`).
    Failed(String),
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Health::Current => f.write_str("Current"),
            Health::InProgress(message) => write!(f, "InProgress: {message}"),
            Health::Failed(message) => write!(f, "Failed: {message}"),
        }
    }
}

fn at<'a>(object: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(object, |value, key| value.get(key))
}

fn int_at(object: &Value, path: &[&str]) -> Option<i64> {
    at(object, path).and_then(Value::as_i64)
}

fn str_at<'a>(object: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(object, path).and_then(Value::as_str)
}

/// One entry of `status.conditions`.
struct Condition<'a> {
    status: &'a str,
    reason: &'a str,
    message: &'a str,
}

fn condition<'a>(object: &'a Value, kind: &str) -> Option<Condition<'a>> {
    let found = at(object, &["status", "conditions"])?
        .as_array()?
        .iter()
        .find(|condition| condition.get("type").and_then(Value::as_str) == Some(kind))?;
    let text = |key: &str| found.get(key).and_then(Value::as_str).unwrap_or_default();
    Some(Condition {
        status: text("status"),
        reason: text("reason"),
        message: text("message"),
    })
}

fn is_true(object: &Value, kind: &str) -> bool {
    condition(object, kind).is_some_and(|found| found.status == "True")
}

/// The health of `object`, a live object as the API server returns it.
pub fn assess(object: &Value) -> Health {
    let kind = str_at(object, &["kind"]).unwrap_or_default();
    if at(object, &["metadata", "deletionTimestamp"]).is_some_and(|time| !time.is_null()) {
        return Health::InProgress("scheduled for deletion".into());
    }
    let generation = int_at(object, &["metadata", "generation"]);
    let observed = int_at(object, &["status", "observedGeneration"]);
    if let (Some(generation), Some(observed)) = (generation, observed)
        && generation != observed
    {
        return Health::InProgress(format!(
            "{kind} generation is {generation}, but latest observed generation is {observed}"
        ));
    }
    if let Some(reconciling) = condition(object, "Reconciling").filter(|c| c.status == "True") {
        return Health::InProgress(reason_and_message(&reconciling));
    }
    if let Some(stalled) = condition(object, "Stalled").filter(|c| c.status == "True") {
        return Health::Failed(reason_and_message(&stalled));
    }
    let group = str_at(object, &["apiVersion"])
        .and_then(|api_version| api_version.rsplit_once('/'))
        .map_or("", |(group, _)| group);
    match (group, kind) {
        ("apps" | "extensions", "Deployment") => deployment(object),
        ("apps", "StatefulSet") => stateful_set(object),
        ("apps" | "extensions", "DaemonSet") => daemon_set(object, generation, observed),
        ("apps" | "extensions", "ReplicaSet") => replica_set(object),
        ("batch", "Job") => job(object),
        ("", "PersistentVolumeClaim") => persistent_volume_claim(object),
        ("", "Pod") => pod(object),
        ("", "Service") => service(object),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => definition(object),
        ("", "ConfigMap" | "Secret") | ("batch", "CronJob") | ("policy", "PodDisruptionBudget") => {
            Health::Current
        }
        _ => ready_condition(object),
    }
}

fn reason_and_message(condition: &Condition) -> String {
    match (condition.reason, condition.message) {
        (reason, "") => reason.to_string(),
        ("", message) => message.to_string(),
        (reason, message) => format!("{reason}: {message}"),
    }
}

/// Custom resources: their `Ready` condition, when they have one.
fn ready_condition(object: &Value) -> Health {
    match condition(object, "Ready") {
        Some(ready) if ready.status == "True" => Health::Current,
        Some(ready) => Health::InProgress(reason_and_message(&ready)),
        None => Health::Current,
    }
}

/// A count the object's controller has not written yet reads as zero.
fn count(object: &Value, path: &[&str]) -> i64 {
    int_at(object, path).unwrap_or(0)
}

/// `.spec.replicas`, defaulted as the controllers default it.
fn wanted_replicas(object: &Value) -> i64 {
    int_at(object, &["spec", "replicas"]).unwrap_or(1)
}

fn deployment(object: &Value) -> Health {
    if let Some(progressing) = condition(object, "Progressing")
        && progressing.reason == "ProgressDeadlineExceeded"
    {
        return Health::Failed(format!(
            "progress deadline exceeded: {}",
            progressing.message
        ));
    }
    let wanted = wanted_replicas(object);
    let replicas = count(object, &["status", "replicas"]);
    let updated = count(object, &["status", "updatedReplicas"]);
    let ready = count(object, &["status", "readyReplicas"]);
    let available = count(object, &["status", "availableReplicas"]);
    if wanted > replicas {
        return Health::InProgress(format!("Replicas: {replicas}/{wanted}"));
    }
    if wanted > updated {
        return Health::InProgress(format!("Updated: {updated}/{wanted}"));
    }
    if replicas > wanted {
        return Health::InProgress(format!("Pending termination: {}", replicas - wanted));
    }
    if updated > available {
        return Health::InProgress(format!("Available: {available}/{updated}"));
    }
    if wanted > ready {
        return Health::InProgress(format!("Ready: {ready}/{wanted}"));
    }
    // Without a progress deadline the controller never reports the new ReplicaSet.
    let no_deadline = int_at(object, &["spec", "progressDeadlineSeconds"])
        .is_none_or(|seconds| seconds == i64::from(i32::MAX));
    let rolled_out = condition(object, "Progressing")
        .is_some_and(|c| c.status == "True" && c.reason == "NewReplicaSetAvailable");
    if !no_deadline && !rolled_out {
        return Health::InProgress("ReplicaSet not Available".into());
    }
    if !is_true(object, "Available") {
        return Health::InProgress("Deployment not Available".into());
    }
    Health::Current
}

fn stateful_set(object: &Value) -> Health {
    if str_at(object, &["spec", "updateStrategy", "type"]) == Some("OnDelete") {
        return Health::Current;
    }
    let wanted = wanted_replicas(object);
    let replicas = count(object, &["status", "replicas"]);
    let ready = count(object, &["status", "readyReplicas"]);
    let current = count(object, &["status", "currentReplicas"]);
    let updated = count(object, &["status", "updatedReplicas"]);
    if wanted > replicas {
        return Health::InProgress(format!("Replicas: {replicas}/{wanted}"));
    }
    if wanted > ready {
        return Health::InProgress(format!("Ready: {ready}/{wanted}"));
    }
    if replicas > wanted {
        return Health::InProgress(format!("Pending termination: {}", replicas - wanted));
    }
    // A partitioned rolling update is done when the pods above the partition are updated.
    if let Some(partition) = int_at(
        object,
        &["spec", "updateStrategy", "rollingUpdate", "partition"],
    ) {
        let expected = wanted - partition;
        if updated < expected {
            return Health::InProgress(format!("updated: {updated}/{expected}"));
        }
        return Health::Current;
    }
    if wanted > current {
        return Health::InProgress(format!("current: {current}/{wanted}"));
    }
    if str_at(object, &["status", "currentRevision"])
        != str_at(object, &["status", "updateRevision"])
    {
        return Health::InProgress("Waiting for updated revision to match current".into());
    }
    Health::Current
}

fn daemon_set(object: &Value, generation: Option<i64>, observed: Option<i64>) -> Health {
    if generation.is_none() {
        return Health::InProgress("DaemonSet metadata.generation not found".into());
    }
    if observed.is_none() {
        return Health::InProgress("DaemonSet status.observedGeneration not found".into());
    }
    let Some(desired) = int_at(object, &["status", "desiredNumberScheduled"]) else {
        return Health::InProgress("Missing .status.desiredNumberScheduled".into());
    };
    for (label, field) in [
        ("Current", "currentNumberScheduled"),
        ("Updated", "updatedNumberScheduled"),
        ("Available", "numberAvailable"),
        ("Ready", "numberReady"),
    ] {
        let have = count(object, &["status", field]);
        if desired > have {
            return Health::InProgress(format!("{label}: {have}/{desired}"));
        }
    }
    Health::Current
}

fn replica_set(object: &Value) -> Health {
    if is_true(object, "ReplicaFailure") {
        return Health::InProgress("Replica Failure condition. Check Pods".into());
    }
    let wanted = wanted_replicas(object);
    for (label, field) in [
        ("Labelled", "fullyLabeledReplicas"),
        ("Available", "availableReplicas"),
        ("Ready", "readyReplicas"),
    ] {
        let have = count(object, &["status", field]);
        if wanted > have {
            return Health::InProgress(format!("{label}: {have}/{wanted}"));
        }
    }
    let replicas = count(object, &["status", "replicas"]);
    if replicas > wanted {
        return Health::InProgress(format!("Pending termination: {}", replicas - wanted));
    }
    Health::Current
}

/// Flux's rule, not kstatus' (which calls a started Job Current): a Job is healthy once
/// it completed, so that `wait: true` means "the migration ran".
fn job(object: &Value) -> Health {
    let parallelism = int_at(object, &["spec", "parallelism"]).unwrap_or(1);
    let completions = int_at(object, &["spec", "completions"]).unwrap_or(parallelism);
    if is_true(object, "Failed") {
        let failed = count(object, &["status", "failed"]);
        return Health::Failed(format!("Job Failed. failed: {failed}/{completions}"));
    }
    if is_true(object, "Complete") {
        return Health::Current;
    }
    if at(object, &["status", "startTime"]).is_none() {
        return Health::InProgress("Job not started".into());
    }
    Health::InProgress(format!(
        "Job in progress. succeeded: {}/{completions}, active: {}, failed: {}",
        count(object, &["status", "succeeded"]),
        count(object, &["status", "active"]),
        count(object, &["status", "failed"]),
    ))
}

fn persistent_volume_claim(object: &Value) -> Health {
    match str_at(object, &["status", "phase"]) {
        Some("Bound") => Health::Current,
        phase => Health::InProgress(format!(
            "PVC is not Bound. phase: {}",
            phase.unwrap_or("unknown")
        )),
    }
}

fn pod(object: &Value) -> Health {
    match str_at(object, &["status", "phase"]) {
        // A finished Pod has done what it will do; kstatus counts a failed one as Current too.
        Some("Succeeded" | "Failed") => Health::Current,
        Some("Running") if is_true(object, "Ready") => Health::Current,
        Some("Running") => {
            let crash_looping: Vec<&str> = at(object, &["status", "containerStatuses"])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|container| {
                    str_at(container, &["state", "waiting", "reason"]) == Some("CrashLoopBackOff")
                })
                .filter_map(|container| str_at(container, &["name"]))
                .collect();
            if crash_looping.is_empty() {
                Health::InProgress("Pod is running but is not Ready".into())
            } else {
                Health::Failed(format!(
                    "Containers in CrashLoop state: {}",
                    crash_looping.join(",")
                ))
            }
        }
        Some("Pending") => match condition(object, "PodScheduled") {
            Some(scheduled) if scheduled.status == "False" => {
                Health::InProgress(format!("Pod is not scheduled: {}", scheduled.message))
            }
            _ => Health::InProgress("Pod is in the Pending phase".into()),
        },
        _ => Health::InProgress("Pod phase not available".into()),
    }
}

/// kstatus waits for a LoadBalancer only until it has a cluster IP, not for an external
/// address: a cluster without a load-balancer controller would otherwise never be healthy.
fn service(object: &Value) -> Health {
    let load_balancer = str_at(object, &["spec", "type"]) == Some("LoadBalancer");
    if load_balancer
        && str_at(object, &["spec", "clusterIP"])
            .unwrap_or_default()
            .is_empty()
    {
        return Health::InProgress("ClusterIP not set. Service type: LoadBalancer".into());
    }
    Health::Current
}

fn definition(object: &Value) -> Health {
    if let Some(names) = condition(object, "NamesAccepted")
        && names.status == "False"
    {
        return Health::Failed(reason_and_message(&names));
    }
    match condition(object, "Established") {
        Some(established) if established.status == "True" => Health::Current,
        Some(established)
            if established.status == "False" && established.reason != "Installing" =>
        {
            Health::Failed(reason_and_message(&established))
        }
        _ => Health::InProgress("Install in progress".into()),
    }
}

/// An object that was not healthy when a health check ended, and its last status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unhealthy {
    /// `Kind/namespace/name`.
    pub subject: String,
    /// `InProgress: ...`, `Failed: ...`, `NotFound`, or why it could not be read.
    pub status: String,
}

impl fmt::Display for Unhealthy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} status: '{}'", self.subject, self.status)
    }
}

fn listed(unhealthy: &[Unhealthy]) -> String {
    unhealthy
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How long a health check took, as messages show it.
pub fn elapsed(took: Duration) -> String {
    format!("{:.1}s", took.as_secs_f64())
}

/// A health check that did not pass, worded as Flux words it.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("health check failed after {}: timeout waiting for: [{}]", elapsed(*.took), listed(.unhealthy))]
    Timeout {
        took: Duration,
        unhealthy: Vec<Unhealthy>,
    },
    #[error("health check failed after {}: failed early due to stalled resources: [{}]", elapsed(*.took), listed(.failed))]
    Failed {
        took: Duration,
        failed: Vec<Unhealthy>,
    },
}

impl HealthError {
    /// Always worth another check at `retryInterval`: objects recover without a change in
    /// Git (a node appears, an image is pushed), and a new commit is checked anyway.
    pub fn is_retryable(&self) -> bool {
        true
    }
}

/// The objects a health check covers, as (id, apiVersion): with `wait`, every object of
/// the new inventory except the skipped ones (`skipped` holds their subjects) and the
/// Kustomization itself (waiting for itself would never end); else the `healthChecks`
/// references, whose namespace defaults to the Kustomization's and apiVersion to
/// `apps/v1` (a v1beta1 holdover Flux keeps).
pub fn targets(
    wait: bool,
    references: &[NamespacedObjectKindReference],
    inventory: &ResourceInventory,
    skipped: &[String],
    own: &ObjectId,
) -> Vec<(ObjectId, String)> {
    if wait {
        return inventory
            .entries
            .iter()
            .filter_map(|entry| {
                let id = ObjectId::parse(&entry.id).ok()?;
                let excluded = &id == own || skipped.contains(&super::desired::subject(&id));
                (!excluded).then(|| (id, entry.version.clone()))
            })
            .collect();
    }
    references
        .iter()
        .map(|reference| {
            let api_version = reference
                .api_version
                .clone()
                .filter(|api_version| !api_version.is_empty())
                .unwrap_or_else(|| "apps/v1".to_string());
            let group = api_version
                .rsplit_once('/')
                .map_or("", |(group, _)| group)
                .to_string();
            let namespace = reference
                .namespace
                .clone()
                .filter(|namespace| !namespace.is_empty())
                .unwrap_or_else(|| own.namespace.clone());
            let id = ObjectId {
                namespace,
                name: reference.name.clone(),
                group,
                kind: reference.kind.clone(),
            };
            (id, api_version)
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::api::inventory::ResourceRef;
    use serde_json::json;

    fn in_progress(message: &str) -> Health {
        Health::InProgress(message.to_string())
    }

    fn deployment(status: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "generation": 2},
               "spec": {"replicas": 3, "progressDeadlineSeconds": 600},
               "status": status})
    }

    fn conditions(list: &[(&str, &str, &str)]) -> Value {
        Value::Array(
            list.iter()
                .map(|(kind, status, reason)| {
                    json!({"type": kind, "status": status, "reason": reason, "message": "m"})
                })
                .collect(),
        )
    }

    #[test]
    fn a_deployment_is_current_once_every_replica_is_updated_ready_and_available() {
        let rolled_out = conditions(&[
            ("Progressing", "True", "NewReplicaSetAvailable"),
            ("Available", "True", "MinimumReplicasAvailable"),
        ]);
        let status = |replicas: i64, updated: i64, ready: i64, available: i64| {
            json!({"observedGeneration": 2, "replicas": replicas, "updatedReplicas": updated,
                   "readyReplicas": ready, "availableReplicas": available,
                   "conditions": rolled_out})
        };
        assert_eq!(assess(&deployment(status(3, 3, 3, 3))), Health::Current);
        assert_eq!(
            assess(&deployment(status(1, 1, 0, 0))),
            in_progress("Replicas: 1/3")
        );
        assert_eq!(
            assess(&deployment(status(3, 2, 3, 3))),
            in_progress("Updated: 2/3")
        );
        assert_eq!(
            assess(&deployment(status(4, 3, 3, 3))),
            in_progress("Pending termination: 1")
        );
        assert_eq!(
            assess(&deployment(status(3, 3, 3, 0))),
            in_progress("Available: 0/3")
        );
        let mut stale = deployment(status(3, 3, 3, 3));
        stale["status"]["observedGeneration"] = json!(1);
        assert_eq!(
            assess(&stale),
            in_progress("Deployment generation is 2, but latest observed generation is 1")
        );
        let mut rolling = deployment(status(3, 3, 3, 3));
        rolling["status"]["conditions"] =
            conditions(&[("Progressing", "True", "ReplicaSetUpdated")]);
        assert_eq!(assess(&rolling), in_progress("ReplicaSet not Available"));
        let mut stuck = deployment(status(3, 3, 0, 0));
        stuck["status"]["conditions"] =
            conditions(&[("Progressing", "False", "ProgressDeadlineExceeded")]);
        assert_eq!(
            assess(&stuck),
            Health::Failed("progress deadline exceeded: m".into())
        );
    }

    #[test]
    fn a_stateful_set_waits_for_its_revision_or_for_the_pods_above_its_partition() {
        let set = |spec: Value, status: Value| {
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
                   "spec": spec, "status": status})
        };
        let full = json!({"replicas": 3, "readyReplicas": 3, "currentReplicas": 3,
                          "updatedReplicas": 3, "currentRevision": "a", "updateRevision": "a"});
        assert_eq!(
            assess(&set(json!({"replicas": 3}), full.clone())),
            Health::Current
        );
        let mut rolling = full.clone();
        rolling["updateRevision"] = json!("b");
        assert_eq!(
            assess(&set(json!({"replicas": 3}), rolling.clone())),
            in_progress("Waiting for updated revision to match current")
        );
        let mut not_ready = full.clone();
        not_ready["readyReplicas"] = json!(1);
        assert_eq!(
            assess(&set(json!({"replicas": 3}), not_ready)),
            in_progress("Ready: 1/3")
        );
        let partitioned =
            json!({"replicas": 3, "updateStrategy": {"rollingUpdate": {"partition": 2}}});
        rolling["updatedReplicas"] = json!(0);
        assert_eq!(
            assess(&set(partitioned.clone(), rolling.clone())),
            in_progress("updated: 0/1")
        );
        rolling["updatedReplicas"] = json!(1);
        assert_eq!(assess(&set(partitioned, rolling.clone())), Health::Current);
        assert_eq!(
            assess(&set(
                json!({"replicas": 3, "updateStrategy": {"type": "OnDelete"}}),
                json!({})
            )),
            Health::Current
        );
    }

    #[test]
    fn a_daemon_set_needs_its_generation_observed_and_every_node_available() {
        let set = |status: Value| {
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                   "metadata": {"name": "agent", "generation": 1}, "status": status})
        };
        assert_eq!(
            assess(&set(json!({}))),
            in_progress("DaemonSet status.observedGeneration not found")
        );
        assert_eq!(
            assess(&set(json!({"observedGeneration": 1}))),
            in_progress("Missing .status.desiredNumberScheduled")
        );
        let status = |available: i64| {
            json!({"observedGeneration": 1, "desiredNumberScheduled": 2,
                   "currentNumberScheduled": 2, "updatedNumberScheduled": 2,
                   "numberAvailable": available, "numberReady": 2})
        };
        assert_eq!(assess(&set(status(1))), in_progress("Available: 1/2"));
        assert_eq!(assess(&set(status(2))), Health::Current);
    }

    #[test]
    fn a_job_is_current_only_when_complete_and_failed_when_it_failed() {
        let job = |status: Value| {
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"},
                   "spec": {"completions": 1}, "status": status})
        };
        assert_eq!(assess(&job(json!({}))), in_progress("Job not started"));
        assert_eq!(
            assess(&job(
                json!({"startTime": "2026-01-01T00:00:00Z", "active": 1})
            )),
            in_progress("Job in progress. succeeded: 0/1, active: 1, failed: 0")
        );
        assert_eq!(
            assess(&job(json!({"succeeded": 1,
                                "conditions": conditions(&[("Complete", "True", "")])}))),
            Health::Current
        );
        assert_eq!(
            assess(&job(json!({"failed": 6,
                                "conditions": conditions(&[("Failed", "True", "BackoffLimitExceeded")])}))),
            Health::Failed("Job Failed. failed: 6/1".into())
        );
    }

    #[test]
    fn claims_pods_services_and_definitions() {
        let claim = |phase: &str| {
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": "data"}, "status": {"phase": phase}})
        };
        assert_eq!(assess(&claim("Bound")), Health::Current);
        assert_eq!(
            assess(&claim("Pending")),
            in_progress("PVC is not Bound. phase: Pending")
        );

        let pod = |status: Value| json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "status": status});
        assert_eq!(
            assess(&pod(json!({"phase": "Running",
                                "conditions": conditions(&[("Ready", "True", "")])}))),
            Health::Current
        );
        assert_eq!(assess(&pod(json!({"phase": "Succeeded"}))), Health::Current);
        assert_eq!(
            assess(&pod(json!({"phase": "Running", "containerStatuses": [
                {"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}))),
            Health::Failed("Containers in CrashLoop state: app".into())
        );
        assert_eq!(
            assess(&pod(json!({"phase": "Pending",
                "conditions": [{"type": "PodScheduled", "status": "False",
                                "reason": "Unschedulable", "message": "0/1 nodes"}]}))),
            in_progress("Pod is not scheduled: 0/1 nodes")
        );

        let service = |spec: Value| json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": spec});
        assert_eq!(
            assess(&service(json!({"type": "ClusterIP"}))),
            Health::Current
        );
        assert_eq!(
            assess(&service(json!({"type": "LoadBalancer"}))),
            in_progress("ClusterIP not set. Service type: LoadBalancer")
        );
        assert_eq!(
            assess(&service(
                json!({"type": "LoadBalancer", "clusterIP": "10.0.0.1"})
            )),
            Health::Current
        );

        let definition = |list: &[(&str, &str, &str)]| {
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                   "metadata": {"name": "crontabs.example.com"},
                   "status": {"conditions": conditions(list)}})
        };
        assert_eq!(
            assess(&definition(&[(
                "Established",
                "True",
                "InitialNamesAccepted"
            )])),
            Health::Current
        );
        assert_eq!(
            assess(&definition(&[("Established", "False", "Installing")])),
            in_progress("Install in progress")
        );
        assert_eq!(
            assess(&definition(&[("NamesAccepted", "False", "NameConflict")])),
            Health::Failed("NameConflict: m".into())
        );
    }

    #[test]
    fn custom_resources_are_read_through_ready_stalled_and_reconciling() {
        let resource = |list: &[(&str, &str, &str)]| {
            json!({"apiVersion": "example.com/v1", "kind": "Database",
                   "metadata": {"name": "db", "generation": 3},
                   "status": {"observedGeneration": 3, "conditions": conditions(list)}})
        };
        assert_eq!(assess(&resource(&[])), Health::Current);
        assert_eq!(
            assess(&resource(&[("Ready", "True", "Succeeded")])),
            Health::Current
        );
        assert_eq!(
            assess(&resource(&[("Ready", "False", "Provisioning")])),
            in_progress("Provisioning: m")
        );
        assert_eq!(
            assess(&resource(&[
                ("Ready", "False", "Broken"),
                ("Stalled", "True", "Broken")
            ])),
            Health::Failed("Broken: m".into())
        );
        assert_eq!(
            assess(&resource(&[("Reconciling", "True", "Progressing")])),
            in_progress("Progressing: m")
        );
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        assert_eq!(assess(&config), Health::Current);
        let mut leaving = config;
        leaving["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        assert_eq!(assess(&leaving), in_progress("scheduled for deletion"));
    }

    #[test]
    fn the_error_names_each_unhealthy_object_and_its_last_status() {
        let error = HealthError::Timeout {
            took: Duration::from_millis(30_040),
            unhealthy: vec![
                Unhealthy {
                    subject: "Deployment/default/web".into(),
                    status: "InProgress: Available: 0/1".into(),
                },
                Unhealthy {
                    subject: "Job/default/migrate".into(),
                    status: "NotFound".into(),
                },
            ],
        };
        assert_eq!(
            error.to_string(),
            "health check failed after 30.0s: timeout waiting for: [Deployment/default/web status: 'InProgress: Available: 0/1', Job/default/migrate status: 'NotFound']"
        );
    }

    #[test]
    fn wait_covers_the_inventory_but_skipped_objects_and_itself() {
        let own = ObjectId::parse("apps_infra_kustomize.toolkit.fluxcd.io_Kustomization").unwrap();
        let inventory = ResourceInventory {
            entries: [
                ("apps_web_apps_Deployment", "apps/v1"),
                ("apps_settings__ConfigMap", "v1"),
                ("apps_infra_kustomize.toolkit.fluxcd.io_Kustomization", "v1"),
            ]
            .into_iter()
            .map(|(id, version)| ResourceRef {
                id: id.into(),
                version: version.into(),
            })
            .collect(),
        };
        let skipped = vec!["ConfigMap/apps/settings".to_string()];
        let ids = |targets: Vec<(ObjectId, String)>| {
            targets
                .into_iter()
                .map(|(id, version)| (id.to_string(), version))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(targets(true, &[], &inventory, &skipped, &own)),
            vec![(
                "apps_web_apps_Deployment".to_string(),
                "apps/v1".to_string()
            )]
        );
        let references: Vec<NamespacedObjectKindReference> = serde_json::from_value(json!([
            {"kind": "Deployment", "name": "web"},
            {"apiVersion": "v1", "kind": "Service", "name": "front", "namespace": "edge"},
        ]))
        .unwrap();
        assert_eq!(
            ids(targets(false, &references, &inventory, &skipped, &own)),
            vec![
                (
                    "apps_web_apps_Deployment".to_string(),
                    "apps/v1".to_string()
                ),
                ("edge_front__Service".to_string(), "v1".to_string()),
            ]
        );
    }
}
