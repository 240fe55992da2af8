//! What every actor needs to report on its object: conditions whose transition time moves
//! only with their status, status written with server-side apply on the status
//! subresource, and Kubernetes Events.
//!
//! Must not: decide which conditions an object gets; the actors do.

use std::fmt::Debug;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;

/// Flux's `MaxConditionMessageLength`.
const MAX_MESSAGE: usize = 20_000;
/// The Events API refuses longer notes.
const MAX_NOTE: usize = 1024;

/// A condition of type `kind` for an object at `generation`. `previous` are the object's
/// current conditions: the transition time moves only when the status does.
pub fn condition(
    previous: &[Condition],
    generation: Option<i64>,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
) -> Condition {
    let last_transition_time = match previous.iter().find(|known| known.type_ == kind) {
        Some(previous) if previous.status == status => previous.last_transition_time.clone(),
        _ => Time(k8s_openapi::jiff::Timestamp::now()),
    };
    Condition {
        type_: kind.to_string(),
        status: status.to_string(),
        reason: reason.to_string(),
        message: message.chars().take(MAX_MESSAGE).collect(),
        observed_generation: generation,
        last_transition_time,
    }
}

/// Server-side apply of `status` on the status subresource, as the one owner of the
/// object's status: every field left out that this manager wrote before is removed.
/// A failure is logged; the next reconcile writes status again.
pub async fn apply_status<K>(
    client: &kube::Client,
    field_manager: &str,
    object: &K,
    status: serde_json::Map<String, serde_json::Value>,
) where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug,
{
    let name = object.name_any();
    let namespace = object.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(client.clone(), &namespace);
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    let params = PatchParams::apply(field_manager).force();
    if let Err(error) = api
        .patch_status(&name, &params, &Patch::Apply(&patch))
        .await
    {
        tracing::warn!(object = %format!("{}/{namespace}/{name}", K::kind(&())), %error, "failed to write status");
    }
}

/// Records an Event on `reference`; a failure is only logged (events are best effort).
pub async fn publish_event(
    recorder: &Recorder,
    reference: &ObjectReference,
    kind: EventType,
    reason: &str,
    note: &str,
) {
    let event = KubeEvent {
        type_: kind,
        reason: reason.to_string(),
        note: Some(note.chars().take(MAX_NOTE).collect()),
        action: "Reconcile".to_string(),
        secondary: None,
    };
    if let Err(error) = recorder.publish(&event, reference).await {
        tracing::debug!(%error, "failed to record an event");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transition_time_moves_only_with_the_status() {
        let then = Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
        let previous = vec![Condition {
            type_: "Ready".into(),
            status: "True".into(),
            reason: "Succeeded".into(),
            message: String::new(),
            observed_generation: Some(1),
            last_transition_time: then.clone(),
        }];
        let same = condition(&previous, Some(2), "Ready", "True", "Succeeded", "again");
        assert_eq!(same.last_transition_time, then);
        assert_eq!(same.observed_generation, Some(2));
        let flipped = condition(&previous, Some(2), "Ready", "False", "Failed", "no");
        assert_ne!(flipped.last_transition_time, then);
        let long = condition(&[], None, "Ready", "False", "Failed", &"x".repeat(30_000));
        assert_eq!(long.message.len(), MAX_MESSAGE);
    }
}
