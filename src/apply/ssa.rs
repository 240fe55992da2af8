//! Carries out an apply plan against the API server: server-side dry-run
//! of each stage before its first write, server-side apply with `force` under the
//! controller's field manager, a wait for CRDs to be Established before the objects that
//! need them, and prune by background deletion.
//!
//! The API of each kind is found through discovery, cached for the whole controller
//! ([`Discovery`]) and dropped after CRDs are applied or when its endpoint answers 404, so
//! the custom resources of a CRD written in the same commit resolve.
//!
//! Must not: decide ordering or what to prune (the pure modules beside it do), or write the
//! Kustomization's status.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{Scope, pinned_kind};
use serde_json::Value;

use super::changes::{Action, ChangeSet};
use super::desired::{Desired, subject};
use super::drift::comparable;
use super::health::{Health, HealthError, Unhealthy, assess};
use super::managed::take_over_patch;
use super::order::Stage;
use super::prune::{Exclusion, exclusion, force_enabled, is_owned_by, prune_disabled};
use crate::api::inventory::ObjectId;

/// How long CRDs get to become Established (Flux waits 60 s for its first stage).
const ESTABLISHED_TIMEOUT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(250);
/// Between two reads of the objects a health check waits for. Flux polls every 5 s; the
/// reads are one GET per object still unhealthy, so a shorter pause costs little.
const HEALTH_POLL: Duration = Duration::from_secs(2);

/// A failed step of an apply or prune, naming the object.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("failed to find the API of {object} ({api_version}): {source}")]
    Discovery {
        object: String,
        api_version: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "{object} is namespaced but has no namespace: set metadata.namespace, or spec.targetNamespace"
    )]
    NoNamespace { object: String },
    #[error(
        "namespace '{namespace}' of {object} does not exist: create it (it may be part of the same build), or fix spec.targetNamespace"
    )]
    NamespaceMissing { object: String, namespace: String },
    #[error("failed to read {object}: {source}")]
    Read {
        object: String,
        #[source]
        source: kube::Error,
    },
    #[error("dry-run failed for {object}: {source}")]
    DryRun {
        object: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to apply {object}: {source}")]
    Apply {
        object: String,
        #[source]
        source: kube::Error,
    },
    #[error("{object} did not become Established within {timeout:?}")]
    NotEstablished { object: String, timeout: Duration },
    #[error("failed to take over the fields kubectl manages on {object}: {message}")]
    TakeOver { object: String, message: String },
    #[error("{object} was not deleted within {timeout:?}, so it could not be recreated")]
    NotDeleted { object: String, timeout: Duration },
    #[error("failed to delete {object}: {source}")]
    Delete {
        object: String,
        #[source]
        source: kube::Error,
    },
}

impl ApplyError {
    /// Whether trying again may succeed without a change in Git or in the spec: the API
    /// server was unavailable, overloaded or raced us.
    pub fn is_retryable(&self) -> bool {
        let transient = |error: &kube::Error| match error {
            kube::Error::Api(status) => {
                status.code >= 500 || status.code == 429 || status.is_conflict()
            }
            _ => true,
        };
        match self {
            ApplyError::Discovery { source, .. }
            | ApplyError::Read { source, .. }
            | ApplyError::DryRun { source, .. }
            | ApplyError::Apply { source, .. }
            | ApplyError::Delete { source, .. } => transient(source),
            ApplyError::NotEstablished { .. }
            | ApplyError::NotDeleted { .. }
            | ApplyError::TakeOver { .. } => true,
            ApplyError::NoNamespace { .. } | ApplyError::NamespaceMissing { .. } => false,
        }
    }
}

/// What a prune did: the objects it deleted, and those it failed to delete (which stay in
/// the inventory, so the next reconcile retries them).
#[derive(Debug, Default)]
pub struct Pruned {
    pub deleted: Vec<(ObjectId, String)>,
    pub failed: Vec<(ObjectId, String, ApplyError)>,
}

#[derive(Clone, Debug)]
struct Resolved {
    resource: ApiResource,
    namespaced: bool,
}

type KindKey = (String, String, String);

/// What discovery found, by (group, version, kind), shared by every Kustomization so that
/// a reconcile does not ask the API server again. Only found kinds are kept: a kind that a
/// CRD adds later resolves at once. Entries are dropped when the API server no longer
/// serves them (a 404 from their endpoint) and when this controller applies CRDs.
#[derive(Clone, Debug, Default)]
pub struct Discovery {
    entries: std::sync::Arc<dashmap::DashMap<KindKey, Resolved>>,
}

impl Discovery {
    fn forget(&self, key: &KindKey) {
        self.entries.remove(key);
    }

    fn clear(&self) {
        self.entries.clear();
    }
}

/// An object an apply wrote, as the API server returned it: what drift is measured against.
#[derive(Debug, Clone)]
pub struct AppliedObject {
    pub desired: Desired,
    /// The kind's API resource, which a watch of the kind needs.
    pub resource: ApiResource,
    /// The object after the apply.
    pub live: Value,
}

/// Applies and prunes for one reconcile of one Kustomization.
pub struct Applier {
    client: kube::Client,
    field_manager: String,
    /// The Kustomization's name and namespace, which the ownership labels carry.
    owner: (String, String),
    discovery: Discovery,
    /// Whether each stage is dry-run before it is written (v1beta2 `validation: none` says
    /// no).
    dry_run: bool,
    /// `spec.force`: an object whose change touches an immutable field is deleted and
    /// created again (also per object with the `force: enabled` marker).
    force: bool,
    /// `--override-manager`: managers whose fields are taken over like kubectl's.
    override_managers: Vec<String>,
    /// What the applies so far wrote, in order, kept when a later step fails.
    applied: Vec<AppliedObject>,
}

fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.is_not_found())
}

/// Whether the API server refused a change to a field that cannot change in place (a
/// Deployment's selector, a Job's template, a Service's clusterIP, ...).
fn is_immutable(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status)
        if status.is_invalid() && status.message.contains("immutable"))
}

impl Applier {
    pub fn new(
        client: kube::Client,
        discovery: Discovery,
        field_manager: &str,
        name: &str,
        namespace: &str,
    ) -> Self {
        Self {
            client,
            field_manager: field_manager.to_string(),
            owner: (name.to_string(), namespace.to_string()),
            discovery,
            dry_run: true,
            force: false,
            override_managers: Vec::new(),
            applied: Vec::new(),
        }
    }

    /// Also takes over the fields of these managers (matched by prefix).
    pub fn with_override_managers(mut self, managers: &[String]) -> Self {
        self.override_managers = managers.to_vec();
        self
    }

    /// Recreates every object whose dry-run fails on an immutable field.
    pub fn with_force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Skips the server-side dry-run before each stage: the stage's first invalid object
    /// then fails after the objects before it were written.
    pub fn without_dry_run(mut self) -> Self {
        self.dry_run = false;
        self
    }

    async fn resolve(
        &mut self,
        id: &ObjectId,
        version: &str,
        api_version: &str,
    ) -> Result<Resolved, kube::Error> {
        let key = (id.group.clone(), version.to_string(), id.kind.clone());
        if let Some(found) = self.discovery.entries.get(&key) {
            return Ok(found.clone());
        }
        let gvk = GroupVersionKind::gvk(&id.group, version, &id.kind);
        let (resource, capabilities) = pinned_kind(&self.client, &gvk).await?;
        let found = Resolved {
            resource,
            namespaced: capabilities.scope == Scope::Namespaced,
        };
        tracing::trace!(api_version, kind = id.kind, "discovered");
        self.discovery.entries.insert(key, found.clone());
        Ok(found)
    }

    /// The objects written so far, emptying the record.
    pub fn take_applied(&mut self) -> Vec<AppliedObject> {
        std::mem::take(&mut self.applied)
    }

    /// The API of `desired`'s kind, scoped to its namespace.
    async fn api_for(&mut self, desired: &Desired) -> Result<Api<DynamicObject>, ApplyError> {
        Ok(self.resolved_api_for(desired).await?.0)
    }

    async fn resolved_api_for(
        &mut self,
        desired: &Desired,
    ) -> Result<(Api<DynamicObject>, ApiResource), ApplyError> {
        let resolved = self
            .resolve(&desired.id, desired.version(), &desired.api_version)
            .await
            .map_err(|source| ApplyError::Discovery {
                object: desired.subject(),
                api_version: desired.api_version.clone(),
                source,
            })?;
        if !resolved.namespaced {
            return Ok((
                Api::all_with(self.client.clone(), &resolved.resource),
                resolved.resource,
            ));
        }
        if desired.id.namespace.is_empty() {
            return Err(ApplyError::NoNamespace {
                object: desired.subject(),
            });
        }
        Ok((
            Api::namespaced_with(
                self.client.clone(),
                &desired.id.namespace,
                &resolved.resource,
            ),
            resolved.resource,
        ))
    }

    /// Applies the stages in order. Each stage is dry-run as a whole first, so a stage that
    /// fails validation writes nothing; the stages before it stay applied. `changes`
    /// records what was done, also when a later step fails.
    pub async fn apply_stages(
        &mut self,
        stages: Vec<(Stage, Vec<Desired>)>,
        changes: &mut ChangeSet,
    ) -> Result<(), ApplyError> {
        for (stage, objects) in stages {
            let mut writes = Vec::new();
            for desired in &objects {
                let (api, resource) = self.resolved_api_for(desired).await?;
                let live =
                    api.get_opt(&desired.id.name)
                        .await
                        .map_err(|source| ApplyError::Read {
                            object: desired.subject(),
                            source,
                        })?;
                let live_value = live
                    .as_ref()
                    .and_then(|live| serde_json::to_value(live).ok());
                let excluded = match exclusion(&desired.object) {
                    Exclusion::None => live_value.as_ref().map_or(Exclusion::None, exclusion),
                    other => other,
                };
                let skip = match excluded {
                    Exclusion::Ignore => true,
                    Exclusion::IfNotPresent => live.is_some(),
                    Exclusion::None => false,
                };
                if skip {
                    changes.push(desired.subject(), Action::Skipped);
                    continue;
                }
                if let Some(live) = &live_value {
                    self.take_over(&api, desired, live).await?;
                }
                let mut version = live.and_then(|live| live.metadata.resource_version);
                // What the dry-run says the object would become, when it is what the object
                // already is: the write is skipped, as Flux skips it (an apply that changes
                // nothing still costs the API server a merge).
                let mut unchanged = None;
                if self.dry_run {
                    match self.dry_run(&api, desired).await {
                        Err(ApplyError::DryRun { source, .. })
                            if version.is_some()
                                && is_immutable(&source)
                                && (self.force
                                    || force_enabled(&desired.object)
                                    || live_value.as_ref().is_some_and(force_enabled)) =>
                        {
                            self.recreate(&api, desired).await?;
                            self.dry_run(&api, desired).await?;
                            version = None;
                        }
                        Ok(would_be) => {
                            if let Some(live) = live_value
                                && serde_json::to_value(&would_be).is_ok_and(|would_be| {
                                    comparable(&would_be) == comparable(&live)
                                })
                            {
                                unchanged = Some(live);
                            }
                        }
                        Err(error) => return Err(error),
                    }
                }
                writes.push((api, resource, desired, version, unchanged));
            }
            for (api, resource, desired, before, unchanged) in writes {
                if let Some(live) = unchanged {
                    changes.push(desired.subject(), Action::Unchanged);
                    self.applied.push(AppliedObject {
                        desired: desired.clone(),
                        resource,
                        live,
                    });
                    continue;
                }
                let params = PatchParams::apply(&self.field_manager).force();
                let applied = api
                    .patch(&desired.id.name, &params, &Patch::Apply(&desired.object))
                    .await
                    .map_err(|source| ApplyError::Apply {
                        object: desired.subject(),
                        source,
                    })?;
                let action = match before {
                    None => Action::Created,
                    Some(before) if applied.metadata.resource_version.as_ref() != Some(&before) => {
                        Action::Configured
                    }
                    Some(_) => Action::Unchanged,
                };
                changes.push(desired.subject(), action);
                self.applied.push(AppliedObject {
                    desired: desired.clone(),
                    resource,
                    live: serde_json::to_value(&applied).unwrap_or(Value::Null),
                });
            }
            if stage == Stage::Definitions {
                let crds: Vec<&Desired> = objects
                    .iter()
                    .filter(|desired| desired.id.kind == "CustomResourceDefinition")
                    .collect();
                if !crds.is_empty() {
                    self.wait_established(&crds).await?;
                    // The new kinds (and new versions of known ones) must resolve.
                    self.discovery.clear();
                }
            }
        }
        Ok(())
    }

    /// What applying `desired` would make of the object, from a server-side dry-run: what
    /// a drifted object is compared with.
    pub async fn would_apply(&mut self, desired: &Desired) -> Result<Value, ApplyError> {
        let api = self.api_for(desired).await?;
        let result = self.dry_run(&api, desired).await?;
        Ok(serde_json::to_value(&result).unwrap_or(Value::Null))
    }

    /// The live object `id`, `None` when it or its kind is gone.
    pub async fn read(
        &mut self,
        id: &ObjectId,
        api_version: &str,
    ) -> Result<Option<Value>, ApplyError> {
        Ok(self
            .live(id, api_version)
            .await?
            .map(|(_, live)| serde_json::to_value(&live).unwrap_or(Value::Null)))
    }

    async fn dry_run(
        &self,
        api: &Api<DynamicObject>,
        desired: &Desired,
    ) -> Result<DynamicObject, ApplyError> {
        let params = PatchParams::apply(&self.field_manager).force().dry_run();
        match api
            .patch(&desired.id.name, &params, &Patch::Apply(&desired.object))
            .await
        {
            Ok(result) => Ok(result),
            Err(kube::Error::Api(status))
                if status.is_not_found() && status.message.starts_with("namespaces ") =>
            {
                Err(ApplyError::NamespaceMissing {
                    object: desired.subject(),
                    namespace: desired.id.namespace.clone(),
                })
            }
            Err(source) => {
                if is_not_found(&source) {
                    // The kind's endpoint is gone (a CRD version removed): ask again next time.
                    self.discovery.forget(&(
                        desired.id.group.clone(),
                        desired.version().to_string(),
                        desired.id.kind.clone(),
                    ));
                }
                Err(ApplyError::DryRun {
                    object: desired.subject(),
                    source,
                })
            }
        }
    }

    /// Hands the fields kubectl manages on the live object to this controller (see
    /// `managed`), so the apply that follows removes what Git does not hold.
    async fn take_over(
        &self,
        api: &Api<DynamicObject>,
        desired: &Desired,
        live: &Value,
    ) -> Result<(), ApplyError> {
        let Some(operations) = take_over_patch(
            live,
            &desired.object,
            &self.field_manager,
            &desired.api_version,
            &self.override_managers,
        ) else {
            return Ok(());
        };
        let patch: json_patch::Patch =
            serde_json::from_value(operations).map_err(|error| ApplyError::TakeOver {
                object: desired.subject(),
                message: error.to_string(),
            })?;
        api.patch(
            &desired.id.name,
            &PatchParams::default(),
            &Patch::Json::<()>(patch),
        )
        .await
        .map_err(|error| ApplyError::TakeOver {
            object: desired.subject(),
            message: error.to_string(),
        })?;
        tracing::debug!(object = %desired.subject(), "took over fields managed by kubectl");
        Ok(())
    }

    /// Deletes `desired`'s live object and waits until it is gone, so that it can be
    /// created again with fields that cannot be changed in place.
    async fn recreate(
        &self,
        api: &Api<DynamicObject>,
        desired: &Desired,
    ) -> Result<(), ApplyError> {
        tracing::info!(object = %desired.subject(), "recreating: an immutable field changed");
        match api
            .delete(&desired.id.name, &DeleteParams::background())
            .await
        {
            Ok(_) => {}
            Err(error) if is_not_found(&error) => return Ok(()),
            Err(source) => {
                return Err(ApplyError::Delete {
                    object: desired.subject(),
                    source,
                });
            }
        }
        let deadline = tokio::time::Instant::now() + ESTABLISHED_TIMEOUT;
        loop {
            let live = api
                .get_opt(&desired.id.name)
                .await
                .map_err(|source| ApplyError::Read {
                    object: desired.subject(),
                    source,
                })?;
            if live.is_none() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApplyError::NotDeleted {
                    object: desired.subject(),
                    timeout: ESTABLISHED_TIMEOUT,
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn wait_established(&self, crds: &[&Desired]) -> Result<(), ApplyError> {
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let deadline = tokio::time::Instant::now() + ESTABLISHED_TIMEOUT;
        for crd in crds {
            loop {
                let current =
                    api.get_opt(&crd.id.name)
                        .await
                        .map_err(|source| ApplyError::Read {
                            object: crd.subject(),
                            source,
                        })?;
                let established = current
                    .and_then(|current| current.status)
                    .and_then(|status| status.conditions)
                    .is_some_and(|conditions| {
                        conditions
                            .iter()
                            .any(|c| c.type_ == "Established" && c.status == "True")
                    });
                if established {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(ApplyError::NotEstablished {
                        object: crd.subject(),
                        timeout: ESTABLISHED_TIMEOUT,
                    });
                }
                tokio::time::sleep(POLL).await;
            }
        }
        Ok(())
    }

    /// Deletes the stale objects, in the order given, that still carry this
    /// Kustomization's ownership labels and do not opt out of pruning.
    pub async fn prune(
        &mut self,
        stale: Vec<(ObjectId, String)>,
        changes: &mut ChangeSet,
    ) -> Pruned {
        let mut pruned = Pruned::default();
        for (id, api_version) in stale {
            match self.prune_one(&id, &api_version, changes).await {
                Ok(true) => pruned.deleted.push((id, api_version)),
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(object = %subject(&id), %error, "prune failed");
                    pruned.failed.push((id, api_version, error));
                }
            }
        }
        pruned
    }

    /// Waits until none of `objects` exists any more, or `timeout` passes. Returns the
    /// objects still there.
    pub async fn wait_gone(
        &mut self,
        objects: &[(ObjectId, String)],
        timeout: Duration,
    ) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut remaining: Vec<&(ObjectId, String)> = objects.iter().collect();
        loop {
            let mut still = Vec::new();
            for entry in remaining {
                let (id, api_version) = entry;
                match self.live(id, api_version).await {
                    Ok(None) => {}
                    Ok(Some(_)) | Err(_) => still.push(entry),
                }
            }
            if still.is_empty() || tokio::time::Instant::now() >= deadline {
                return still.iter().map(|(id, _)| subject(id)).collect();
            }
            remaining = still;
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until every one of `objects` (id, apiVersion) is Current, any is Failed (no
    /// point waiting for the rest), or `timeout` passes. The first read is immediate; an
    /// object once Current is not read again. Returns how long it took.
    pub async fn wait_healthy(
        &mut self,
        objects: &[(ObjectId, String)],
        timeout: Duration,
    ) -> Result<Duration, HealthError> {
        let started = tokio::time::Instant::now();
        let deadline = started + timeout;
        let mut pending: Vec<&(ObjectId, String)> = objects.iter().collect();
        loop {
            let mut unhealthy = Vec::new();
            let mut failed = Vec::new();
            for entry in pending {
                let (id, api_version) = entry;
                // Err: no live object to assess, and why.
                let status = match self.live(id, api_version).await {
                    Ok(Some((_, live))) => serde_json::to_value(&live)
                        .map(|live| assess(&live))
                        .map_err(|error| format!("Unknown: {error}")),
                    Ok(None) => Err("NotFound".to_string()),
                    // Read again at the next poll; the error is the status if time runs out.
                    Err(error) => Err(format!("Unknown: {error}")),
                };
                let note = |status: String| Unhealthy {
                    subject: subject(id),
                    status,
                };
                match status {
                    Ok(Health::Current) => {}
                    Ok(health @ Health::Failed(_)) => failed.push(note(health.to_string())),
                    Ok(health @ Health::InProgress(_)) => {
                        unhealthy.push((entry, note(health.to_string())));
                    }
                    Err(status) => unhealthy.push((entry, note(status))),
                }
            }
            let took = started.elapsed();
            if !failed.is_empty() {
                return Err(HealthError::Failed { took, failed });
            }
            if unhealthy.is_empty() {
                return Ok(took);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                let unhealthy = unhealthy.into_iter().map(|(_, note)| note).collect();
                return Err(HealthError::Timeout { took, unhealthy });
            }
            tracing::debug!(waiting = unhealthy.len(), "objects not healthy yet");
            pending = unhealthy.into_iter().map(|(entry, _)| entry).collect();
            tokio::time::sleep(HEALTH_POLL.min(deadline - now)).await;
        }
    }

    /// The live object `id`, read with the version it was applied with; `None` when it or
    /// its kind is gone.
    async fn live(
        &mut self,
        id: &ObjectId,
        api_version: &str,
    ) -> Result<Option<(Api<DynamicObject>, DynamicObject)>, ApplyError> {
        let object = subject(id);
        let version = crate::render::resource::split_api_version(api_version).1;
        let resolved = match self.resolve(id, version, api_version).await {
            Ok(resolved) => resolved,
            // The kind is gone (its CRD was deleted), and its objects with it.
            Err(error) if is_not_found(&error) => return Ok(None),
            Err(source) => {
                return Err(ApplyError::Discovery {
                    object,
                    api_version: api_version.to_string(),
                    source,
                });
            }
        };
        let api: Api<DynamicObject> = if resolved.namespaced {
            Api::namespaced_with(self.client.clone(), &id.namespace, &resolved.resource)
        } else {
            Api::all_with(self.client.clone(), &resolved.resource)
        };
        let live = api
            .get_opt(&id.name)
            .await
            .map_err(|source| ApplyError::Read { object, source })?;
        Ok(live.map(|live| (api, live)))
    }

    /// Deletes one stale object if it is still ours; says whether it did.
    async fn prune_one(
        &mut self,
        id: &ObjectId,
        api_version: &str,
        changes: &mut ChangeSet,
    ) -> Result<bool, ApplyError> {
        let object = subject(id);
        let Some((api, live)) = self.live(id, api_version).await? else {
            return Ok(false);
        };
        let live = serde_json::to_value(&live).unwrap_or(Value::Null);
        if !is_owned_by(&live, &self.owner.0, &self.owner.1) || prune_disabled(&live) {
            changes.push(object, Action::Skipped);
            return Ok(false);
        }
        match api.delete(&id.name, &DeleteParams::background()).await {
            Ok(_) => {
                changes.push(object, Action::Deleted);
                Ok(true)
            }
            Err(error) if is_not_found(&error) => Ok(false),
            Err(source) => Err(ApplyError::Delete { object, source }),
        }
    }
}
