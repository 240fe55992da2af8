//! One actor per Kustomization: it renders the artifact of its source at `spec.path`,
//! applies the result in stages with server-side apply, prunes what left the inventory,
//! waits for the applied objects' health when the spec asks (outside the `--concurrent`
//! limit), and writes the object's status and Events as Flux does.
//!
//! A reconcile runs on a new artifact of the source (`CommitChanged`), on a new generation,
//! on a new `reconcile.fluxcd.io/requestedAt`, every `spec.interval`, and `spec.retryInterval`
//! after a failure. Only one reconcile of an object runs at a time; triggers during one
//! coalesce into one more right after it, with the latest artifact.
//!
//! Rendering is CPU-bound and runs on the blocking pool under the controller's render
//! semaphore. Fields of the Flux schema this controller does not implement stall the object
//! (`UnsupportedField`) instead of being ignored.
//!
//! Must not: fetch sources (it only hears of artifacts through the subscription table),
//! or decide apply order and prune sets (`crate::apply` does).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::{EventType, Recorder};
use kube::{Resource, ResourceExt};
use serde_json::json;
use tracing::Instrument;

use super::drift::{DriftWatches, Hold, ObjectChanged, Tracked};
use super::impersonation::{Impersonation, InvalidUser, service_account_user};
use super::metrics as names;
use super::source_actor::REQUESTED_AT;
use super::status;
use super::store::{ArtifactHandle, SourceKey};
use super::subscriptions::{SourceEvent, Subscriptions};
use crate::api::conditions::{reasons, types};
use crate::api::inventory::{ObjectId, ResourceInventory, ResourceRef};
use crate::api::kustomization::v1::{
    DeletionPolicy, DriftDetectionMode, Kustomization, KustomizationSpec, SourceKind,
    SubstituteKind, Validation,
};
use crate::api::kustomization::{FINALIZER, FluxOverridesSource, KIND};
use crate::apply::{
    self, AppliedObject, Applier, ApplyError, ChangeSet, Desired, Discovery, Exclusion, drift,
};
use crate::render::flux::{RenderRequest, render};

/// What every Kustomization actor shares.
#[derive(Clone)]
pub struct KustomizationShared {
    pub client: kube::Client,
    pub subscriptions: Subscriptions,
    pub recorder: Arc<Recorder>,
    pub field_manager: String,
    /// Bounds the renders running at once on the blocking pool.
    pub renders: Arc<tokio::sync::Semaphore>,
    /// Bounds the reconciles (render, apply, prune) running at once: `--concurrent`.
    pub reconciles: Arc<tokio::sync::Semaphore>,
    /// `--no-cross-namespace-refs`.
    pub no_cross_namespace_refs: bool,
    /// The API kinds found so far, for every apply.
    pub discovery: Discovery,
    /// `--override-manager`.
    pub override_managers: Vec<String>,
    /// The shared watches of applied objects.
    pub drift: DriftWatches,
    /// Clients acting as Kustomizations' ServiceAccounts.
    pub impersonation: Impersonation,
    /// `--default-service-account`.
    pub default_service_account: Option<String>,
    /// `--allow-flux-crds`: apply Flux's own CRDs as any other object.
    pub allow_flux_crds: bool,
}

/// What a reconcile started from: generation, requestedAt, source revision.
type Trigger = (Option<i64>, Option<String>, Option<String>);

/// The actor of one Kustomization.
pub struct KustomizationActor {
    shared: KustomizationShared,
    object: Kustomization,
    /// `Kustomization/<namespace>/<name>`: the subscriber id and the log field.
    id: String,
    source: Option<SourceKey>,
    artifact: Option<ArtifactHandle>,
    /// Why the source has no artifact, while it has none.
    unavailable: Option<String>,
    running: bool,
    again: bool,
    timer: Option<SpawnHandle>,
    handled: Option<Trigger>,
    /// The last reconcile stopped at an unready dependency.
    waiting_for_dependencies: bool,
    /// The applied objects whose changes are checked for drift.
    tracked: HashMap<ObjectId, Tracked>,
    /// Objects whose drift check or correction is under way.
    checking: HashSet<ObjectId>,
    /// Changes that arrived during a reconcile or a check of the same object, handled
    /// after it (the newest per object).
    pending: HashMap<ObjectId, Option<serde_json::Value>>,
    /// Drifted objects left as they are (`warn`, or a held correction), with what moved:
    /// the `Drifted` condition.
    drifted: BTreeMap<ObjectId, String>,
}

impl KustomizationActor {
    pub fn new(shared: KustomizationShared, object: Kustomization) -> Self {
        let id = format!(
            "Kustomization/{}/{}",
            object.namespace().unwrap_or_default(),
            object.name_any()
        );
        Self {
            shared,
            object,
            id,
            source: None,
            artifact: None,
            unavailable: None,
            running: false,
            again: false,
            timer: None,
            handled: None,
            waiting_for_dependencies: false,
            tracked: HashMap::new(),
            checking: HashSet::new(),
            pending: HashMap::new(),
            drifted: BTreeMap::new(),
        }
    }

    fn trigger(&self) -> Trigger {
        (
            self.object.metadata.generation,
            self.object.annotations().get(REQUESTED_AT).cloned(),
            self.artifact
                .as_ref()
                .map(|artifact| artifact.revision.clone()),
        )
    }

    /// Subscribes to the source the spec names, leaving the previous one if it changed.
    fn follow_source(&mut self, ctx: &mut Context<Self>) {
        let blocked = self.shared.no_cross_namespace_refs && is_cross_namespace(&self.object);
        let wanted = source_key(&self.object).filter(|_| !blocked);
        if wanted == self.source {
            return;
        }
        if let Some(previous) = self.source.take() {
            self.shared.subscriptions.unsubscribe(&previous, &self.id);
        }
        self.artifact = None;
        self.unavailable = None;
        if let Some(key) = &wanted {
            self.shared
                .subscriptions
                .subscribe(key, &self.id, ctx.address().recipient());
        }
        self.source = wanted;
    }

    fn reconcile(&mut self, ctx: &mut Context<Self>) {
        if self.running {
            self.again = true;
            return;
        }
        if let Some(timer) = self.timer.take() {
            ctx.cancel_future(timer);
        }
        self.running = true;
        self.handled = Some(self.trigger());
        let shared = self.shared.clone();
        let object = self.object.clone();
        let artifact = self.artifact.clone();
        let unavailable = self.unavailable.clone();
        let span = tracing::info_span!("reconcile", kustomization = %self.id);
        let work = async move {
            let _in_flight = names::InFlight::start(KIND);
            let started = Instant::now();
            let mut applied = Vec::new();
            let outcome =
                reconcile_once(&shared, &object, artifact, unavailable, &mut applied).await;
            let took = started.elapsed();
            let (namespace, name) = (object.namespace().unwrap_or_default(), object.name_any());
            names::observe_reconcile(KIND, &namespace, &name, took);
            let result = outcome.result();
            names::count_reconcile(KIND, &namespace, &name, result);
            let labels = names::source_labels(KIND, &namespace, &name);
            metrics::gauge!(names::SUSPENDED, &labels).set(
                if matches!(outcome, Outcome::Suspended) {
                    1.0
                } else {
                    0.0
                },
            );
            match outcome {
                Outcome::Done => metrics::gauge!(names::KUSTOMIZATION_READY, &labels).set(1.0),
                Outcome::Failed | Outcome::Stalled => {
                    metrics::gauge!(names::KUSTOMIZATION_READY, &labels).set(0.0);
                }
                _ => {}
            }
            tracing::debug!(elapsed = ?took, ?outcome, "reconcile finished");
            (outcome, applied)
        }
        .instrument(span);
        ctx.spawn(work.into_actor(self).map(|(outcome, applied), actor, ctx| {
            actor.running = false;
            actor.track_applied(&outcome, applied, ctx);
            actor.waiting_for_dependencies = matches!(outcome, Outcome::WaitingForDependencies);
            let spec = &actor.object.spec;
            let delay = match outcome {
                Outcome::Done => spec.interval().ok(),
                Outcome::Failed | Outcome::WaitingForDependencies => spec.retry_interval().ok(),
                // A new artifact, a spec change or the source's return arrives as a
                // message; nothing to poll for.
                Outcome::Stalled
                | Outcome::Suspended
                | Outcome::NoArtifact
                | Outcome::Finalized => None,
            };
            if actor.again {
                actor.again = false;
                actor.reconcile(ctx);
            } else if let Some(delay) = delay {
                actor.timer = Some(ctx.run_later(delay, |actor, ctx| actor.reconcile(ctx)));
            }
        }));
    }
}

/// What a drift check found.
enum Verdict {
    /// The object is as an apply would leave it (another writer touched only fields
    /// this controller does not own): its comparable form is the new baseline.
    InSync(drift::Fingerprint),
    /// An apply would change the object (`now` is its comparable form, `None` when it
    /// was deleted), at these paths.
    Drifted {
        now: Option<drift::Fingerprint>,
        paths: Vec<String>,
    },
    /// The live object opts out of reconciliation now.
    OptedOut,
}

impl KustomizationActor {
    fn drift_labels(&self) -> [(&'static str, String); 3] {
        names::source_labels(
            KIND,
            &self.object.namespace().unwrap_or_default(),
            &self.object.name_any(),
        )
    }

    /// Follows the objects a reconcile applied: a successful one replaces the set (what
    /// it did not apply is no longer ours to watch), a failed one updates what it wrote.
    fn track_applied(
        &mut self,
        outcome: &Outcome,
        applied: Vec<AppliedObject>,
        ctx: &mut Context<Self>,
    ) {
        let mode = self.object.spec.drift_detection_mode();
        let finished = matches!(outcome, Outcome::Done);
        if matches!(outcome, Outcome::Finalized) || mode == DriftDetectionMode::Disabled {
            self.shared.drift.untrack(&self.id, self.tracked.keys());
            self.tracked.clear();
            self.pending.clear();
            self.set_drifted(BTreeMap::new(), ctx);
            return;
        }
        let mut previous = std::mem::take(&mut self.tracked);
        let mut next = if finished {
            HashMap::new()
        } else {
            std::mem::take(&mut previous)
        };
        let watched: Vec<&AppliedObject> = applied
            .iter()
            .filter(|object| apply::exclusion(&object.desired.object) == Exclusion::None)
            .collect();
        for object in &watched {
            let id = &object.desired.id;
            let entry = match previous.remove(id).or_else(|| next.remove(id)) {
                Some(mut tracked) => {
                    tracked.reapplied(object);
                    tracked
                }
                None => Tracked::new(object),
            };
            next.insert(id.clone(), entry);
        }
        self.shared.drift.untrack(&self.id, previous.keys());
        self.shared.drift.track(
            &self.id,
            watched
                .iter()
                .map(|object| (&object.desired.id, &object.resource)),
            &ctx.address().recipient(),
        );
        self.tracked = next;
        if finished {
            // The reconcile applied every object again and its status has no Drifted.
            self.drifted.clear();
            self.publish_drifted_count();
        }
        for (id, live) in std::mem::take(&mut self.pending) {
            self.object_changed(id, live, ctx);
        }
    }

    fn publish_drifted_count(&self) {
        let drifted = self
            .tracked
            .values()
            .filter(|tracked| tracked.drifted.is_some())
            .count();
        metrics::gauge!(names::DRIFTED_OBJECTS, &self.drift_labels()).set(drifted as f64);
    }

    /// An applied object changed, or left the watch (`live` is `None`).
    fn object_changed(
        &mut self,
        id: ObjectId,
        live: Option<serde_json::Value>,
        ctx: &mut Context<Self>,
    ) {
        let Some(tracked) = self.tracked.get(&id) else {
            return;
        };
        if self.running || self.checking.contains(&id) {
            self.pending.insert(id, live);
            return;
        }
        let spec = &self.object.spec;
        if spec.is_suspended()
            || spec.drift_detection_mode() == DriftDetectionMode::Disabled
            || self.object.metadata.deletion_timestamp.is_some()
        {
            return;
        }
        if let Some(live) = &live {
            if apply::exclusion(live) != Exclusion::None {
                return;
            }
            let now = drift::fingerprint(live);
            if now == tracked.baseline {
                if self.drifted.contains_key(&id) {
                    let mut drifted = self.drifted.clone();
                    drifted.remove(&id);
                    self.set_drifted(drifted, ctx);
                }
                if let Some(tracked) = self.tracked.get_mut(&id) {
                    tracked.drifted = None;
                }
                self.publish_drifted_count();
                return;
            }
            if tracked.drifted == Some(now) {
                return;
            }
        }
        let desired = tracked.desired();
        let seen = Instant::now();
        // An account that cannot be impersonated fails the reconcile, which says why.
        let Ok(mut applier) = applier_for(&self.shared, &self.object) else {
            return;
        };
        self.checking.insert(id.clone());
        let span =
            tracing::info_span!("drift", kustomization = %self.id, object = %desired.subject());
        let check = async move { judge(&mut applier, &desired, live).await }.instrument(span);
        ctx.spawn(check.into_actor(self).map(move |verdict, actor, ctx| {
            actor.checking.remove(&id);
            match verdict {
                Ok(verdict) => actor.drift_verdict(&id, verdict, seen, ctx),
                Err(error) => actor.drift_failed(&id, &error, ctx),
            }
            if let Some(live) = actor.pending.remove(&id) {
                actor.object_changed(id, live, ctx);
            }
        }));
    }

    fn drift_verdict(
        &mut self,
        id: &ObjectId,
        verdict: Verdict,
        seen: Instant,
        ctx: &mut Context<Self>,
    ) {
        let mode = self.object.spec.drift_detection_mode();
        let revision = self
            .object
            .status
            .as_ref()
            .and_then(|status| status.last_applied_revision.clone())
            .unwrap_or_default();
        let labels = self.drift_labels();
        let Some(tracked) = self.tracked.get_mut(id) else {
            return;
        };
        let subject = tracked.subject();
        let (now, paths) = match verdict {
            Verdict::OptedOut => return,
            Verdict::InSync(now) => {
                tracked.baseline = now;
                tracked.drifted = None;
                if self.drifted.contains_key(id) {
                    let mut drifted = self.drifted.clone();
                    drifted.remove(id);
                    self.set_drifted(drifted, ctx);
                }
                self.publish_drifted_count();
                return;
            }
            Verdict::Drifted { now, paths } => (now, paths),
        };
        let what = if now.is_none() {
            "deleted".to_string()
        } else {
            drift::describe_paths(&paths)
        };
        tracked.drifted = Some(now.unwrap_or_default());
        let [kind, name, namespace] = labels.clone();
        metrics::counter!(
            names::DRIFT_DETECTED,
            &[kind, name, namespace, ("object_kind", id.kind.clone())]
        )
        .increment(1);
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64());
        metrics::gauge!(names::LAST_DRIFT, &labels).set(unix);
        tracing::info!(object = subject, changed = what, ?mode, "drift detected");
        let corrections = tracked.recent_corrections(Instant::now());
        let hold = if mode == DriftDetectionMode::Warn {
            Hold::None
        } else {
            tracked.hold(Instant::now())
        };
        self.publish_drifted_count();
        if mode == DriftDetectionMode::Warn {
            let mut drifted = self.drifted.clone();
            drifted.insert(id.clone(), format!("{subject} ({what})"));
            self.set_drifted(drifted, ctx);
            let note = format!(
                "{subject} drifted from revision {revision} ({what}); driftDetection.mode is warn, so it is left as it is until the next reconcile"
            );
            self.drift_event(EventType::Warning, reasons::DRIFT_DETECTED, note, ctx);
            return;
        }
        let hold = match hold {
            Hold::None => None,
            // The timer of the running wait looks at the object again.
            Hold::Waiting(_) => return,
            Hold::Started(hold) => Some(hold),
        };
        if let Some(hold) = hold {
            let mut drifted = self.drifted.clone();
            drifted.insert(
                id.clone(),
                format!(
                    "{subject} ({what}; correction held for {}s)",
                    hold.as_secs()
                ),
            );
            self.set_drifted(drifted, ctx);
            let note = format!(
                "{subject} drifted again ({what}) after {corrections} corrections in the last 2 minutes: another controller (an HPA, a mutating webhook) may be writing these fields; the next correction waits {}s",
                hold.as_secs()
            );
            self.drift_event(
                EventType::Warning,
                reasons::DRIFT_CORRECTION_HELD,
                note,
                ctx,
            );
            let later = id.clone();
            ctx.run_later(hold, move |actor, ctx| {
                if let Some(tracked) = actor.tracked.get_mut(&later) {
                    tracked.drifted = None;
                }
                actor.object_changed(later, None, ctx);
            });
            return;
        }
        self.correct(id, (what, revision, seen), ctx);
    }

    /// Applies the drifted object again, alone.
    fn correct(
        &mut self,
        id: &ObjectId,
        (what, revision, seen): (String, String, Instant),
        ctx: &mut Context<Self>,
    ) {
        let Some(tracked) = self.tracked.get(id) else {
            return;
        };
        let desired = tracked.desired();
        let Ok(mut applier) = applier_for(&self.shared, &self.object) else {
            return;
        };
        self.checking.insert(id.clone());
        let span =
            tracing::info_span!("drift", kustomization = %self.id, object = %desired.subject());
        let correction = async move {
            let stage = apply::order::stage_of(&desired.id);
            let mut changes = ChangeSet::default();
            applier
                .apply_stages(vec![(stage, vec![desired])], &mut changes)
                .await
                .map(|()| applier.take_applied())
        }
        .instrument(span);
        let id = id.clone();
        ctx.spawn(correction.into_actor(self).map(move |result, actor, ctx| {
            actor.checking.remove(&id);
            match result {
                Ok(applied) => {
                    let took = seen.elapsed();
                    metrics::histogram!(names::DRIFT_CORRECTION_DURATION)
                        .record(took.as_secs_f64());
                    let [kind, name, namespace] = actor.drift_labels();
                    metrics::counter!(
                        names::DRIFT_CORRECTIONS,
                        &[kind, name, namespace, ("object_kind", id.kind.clone())]
                    )
                    .increment(1);
                    let mut subject = String::new();
                    if let Some(tracked) = actor.tracked.get_mut(&id) {
                        for object in &applied {
                            tracked.reapplied(object);
                        }
                        tracked.corrected(Instant::now());
                        subject = tracked.subject();
                    }
                    tracing::info!(object = subject, elapsed = ?took, "drift corrected");
                    if actor.drifted.contains_key(&id) {
                        let mut drifted = actor.drifted.clone();
                        drifted.remove(&id);
                        actor.set_drifted(drifted, ctx);
                    }
                    actor.publish_drifted_count();
                    let note = format!(
                        "{subject} drifted ({what}) and was restored to revision {revision}"
                    );
                    actor.drift_event(EventType::Normal, reasons::DRIFT_CORRECTED, note, ctx);
                }
                Err(error) => actor.drift_failed(&id, &error, ctx),
            }
            if let Some(live) = actor.pending.remove(&id) {
                actor.object_changed(id, live, ctx);
            }
        }));
    }

    /// A check or correction failed: reported, and tried again a little later (a
    /// deleted namespace, an API server restart).
    fn drift_failed(&mut self, id: &ObjectId, error: &ApplyError, ctx: &mut Context<Self>) {
        tracing::warn!(%error, "drift check or correction failed");
        if let Some(tracked) = self.tracked.get_mut(id) {
            tracked.drifted = None;
        }
        let note = format!("{error}; retrying in {}s", DRIFT_RETRY.as_secs());
        self.drift_event(
            EventType::Warning,
            reasons::DRIFT_CORRECTION_FAILED,
            note,
            ctx,
        );
        let later = id.clone();
        ctx.run_later(DRIFT_RETRY, move |actor, ctx| {
            actor.object_changed(later, None, ctx);
        });
    }

    fn drift_event(
        &self,
        kind: EventType,
        reason: &'static str,
        note: String,
        ctx: &mut Context<Self>,
    ) {
        let shared = self.shared.clone();
        let object = self.object.clone();
        ctx.spawn(
            async move {
                Report {
                    shared: &shared,
                    object: &object,
                }
                .event(kind, reason, &note)
                .await;
            }
            .into_actor(self),
        );
    }

    /// Writes the `Drifted` condition when the set of drifted objects changed (not
    /// during a reconcile, whose own status write comes after).
    fn set_drifted(&mut self, drifted: BTreeMap<ObjectId, String>, ctx: &mut Context<Self>) {
        if drifted == self.drifted {
            return;
        }
        self.drifted = drifted;
        if self.running {
            return;
        }
        let shared = self.shared.clone();
        let object = self.object.clone();
        let entries: Vec<String> = self.drifted.values().cloned().collect();
        ctx.spawn(
            async move {
                Report {
                    shared: &shared,
                    object: &object,
                }
                .drifted(&entries)
                .await;
            }
            .into_actor(self),
        );
    }
}

/// How long a failed drift check or correction waits before the object is looked at again.
const DRIFT_RETRY: Duration = Duration::from_secs(10);

/// The applier of `object`'s writes: acting as its ServiceAccount when it names one (or
/// the controller has a default), with its owner labels, `spec.force`, and the
/// controller's field manager, discovery and overridden managers.
fn applier_for(
    shared: &KustomizationShared,
    object: &Kustomization,
) -> Result<Applier, InvalidUser> {
    let account = object
        .spec
        .service_account_name
        .as_deref()
        .filter(|name| !name.is_empty())
        .or(shared.default_service_account.as_deref());
    let client = match account {
        Some(account) => shared.impersonation.client(
            &shared.client,
            &service_account_user(&object.namespace().unwrap_or_default(), account),
        )?,
        None => shared.client.clone(),
    };
    Ok(Applier::new(
        client,
        shared.discovery.clone(),
        &shared.field_manager,
        &object.name_any(),
        &object.namespace().unwrap_or_default(),
    )
    .with_force(object.spec.force == Some(true))
    .with_override_managers(&shared.override_managers))
}

/// Whether `desired`'s live object (`live`, or read now when the watch lost it) is what an
/// apply of `desired` would leave.
async fn judge(
    applier: &mut Applier,
    desired: &Desired,
    live: Option<serde_json::Value>,
) -> Result<Verdict, ApplyError> {
    let live = match live {
        Some(live) => Some(live),
        None => applier.read(&desired.id, &desired.api_version).await?,
    };
    let Some(live) = live else {
        return Ok(Verdict::Drifted {
            now: None,
            paths: Vec::new(),
        });
    };
    if apply::exclusion(&live) != Exclusion::None {
        return Ok(Verdict::OptedOut);
    }
    let now = drift::comparable(&live);
    let wanted = drift::comparable(&applier.would_apply(desired).await?);
    if now == wanted {
        return Ok(Verdict::InSync(drift::fingerprint_of_comparable(&now)));
    }
    let paths = drift::changed_paths(&now, &wanted);
    Ok(Verdict::Drifted {
        now: Some(drift::fingerprint_of_comparable(&now)),
        paths,
    })
}

impl Handler<ObjectChanged> for KustomizationActor {
    type Result = ();

    fn handle(&mut self, message: ObjectChanged, ctx: &mut Self::Context) {
        self.object_changed(message.id, message.live, ctx);
    }
}

impl Actor for KustomizationActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        names::actor_started(KIND);
        self.follow_source(ctx);
        // Not a source this controller serves: the reconcile stalls and says why. Being
        // deleted: the inventory is collected whatever the source's state.
        if self.source.is_none() || self.object.metadata.deletion_timestamp.is_some() {
            self.reconcile(ctx);
        }
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        if let Some(source) = &self.source {
            self.shared.subscriptions.unsubscribe(source, &self.id);
        }
        self.shared.drift.untrack(&self.id, self.tracked.keys());
        names::actor_stopped(KIND);
    }
}

/// The object changed in the API (any field: the actor decides whether it matters).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Updated(pub Box<Kustomization>);

impl Handler<Updated> for KustomizationActor {
    type Result = ();

    fn handle(&mut self, message: Updated, ctx: &mut Self::Context) {
        self.object = *message.0;
        let before = self.source.clone();
        self.follow_source(ctx);
        // A new source answers the subscription with its state, which triggers then; an
        // unserved source kind stalls at once.
        let changed_source = before != self.source;
        let new_trigger = self.handled.as_ref() != Some(&self.trigger());
        let deleting = self.object.metadata.deletion_timestamp.is_some();
        if (!changed_source && new_trigger) || (changed_source && self.source.is_none()) || deleting
        {
            self.reconcile(ctx);
        }
    }
}

/// A Kustomization this one depends on changed: worth another look if this one waits
/// for it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DependencyChanged;

impl Handler<DependencyChanged> for KustomizationActor {
    type Result = ();

    fn handle(&mut self, _: DependencyChanged, ctx: &mut Self::Context) {
        if self.waiting_for_dependencies {
            self.reconcile(ctx);
        }
    }
}

/// The object was deleted: the actor stops.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;

impl Handler<Stop> for KustomizationActor {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl Handler<SourceEvent> for KustomizationActor {
    type Result = ();

    fn handle(&mut self, event: SourceEvent, ctx: &mut Self::Context) {
        match event {
            SourceEvent::CommitChanged {
                source, artifact, ..
            } if Some(&source) == self.source.as_ref() => {
                self.artifact = Some(artifact);
                self.unavailable = None;
                if self.handled.as_ref() != Some(&self.trigger()) {
                    self.reconcile(ctx);
                }
            }
            SourceEvent::SourceUnavailable { source, reason }
                if Some(&source) == self.source.as_ref() =>
            {
                self.unavailable = Some(reason);
                if self.artifact.is_none() {
                    self.reconcile(ctx);
                }
            }
            SourceEvent::SourceGone { source } if Some(&source) == self.source.as_ref() => {
                self.artifact = None;
                self.unavailable = Some(format!("{source} was deleted"));
                self.reconcile(ctx);
            }
            // An event from a source this actor has left.
            _ => {}
        }
    }
}

impl Outcome {
    /// The `result` label of the reconcile counter.
    fn result(&self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Failed => "failed",
            Outcome::Stalled => "stalled",
            Outcome::Suspended => "suspended",
            Outcome::NoArtifact => "no_artifact",
            Outcome::Finalized => "finalized",
            Outcome::WaitingForDependencies => "waiting_for_dependencies",
        }
    }
}

#[derive(Debug)]
enum Outcome {
    Done,
    Failed,
    Stalled,
    Suspended,
    NoArtifact,
    /// The object is being deleted and its finalizer is released.
    Finalized,
    /// A `dependsOn` Kustomization is not Ready at the right revision: retried when it
    /// changes (the supervisor says so), and at `retryInterval` in case a change is missed.
    WaitingForDependencies,
}

/// The source a Kustomization's spec names, if it is a kind this controller serves.
fn source_key(object: &Kustomization) -> Option<SourceKey> {
    let reference = &object.spec.source_ref;
    if reference.kind != SourceKind::GitRepository {
        return None;
    }
    let namespace = reference
        .namespace
        .clone()
        .filter(|namespace| !namespace.is_empty())
        .or_else(|| object.namespace())
        .unwrap_or_default();
    Some(SourceKey::git_repository(&namespace, &reference.name))
}

/// Whether the object's `sourceRef` names a namespace other than its own.
fn is_cross_namespace(object: &Kustomization) -> bool {
    object
        .spec
        .source_ref
        .namespace
        .as_deref()
        .is_some_and(|namespace| {
            !namespace.is_empty() && Some(namespace) != object.namespace().as_deref()
        })
}

/// The first field of the Flux schema set in `spec` that this controller does not
/// implement. Such a field is never ignored: `kubeConfig` ignored would apply a remote
/// cluster's manifests here, `decryption` ignored would apply ciphertext.
fn unsupported_field(spec: &KustomizationSpec) -> Option<&'static str> {
    let non_empty = |list: Option<usize>| list.is_some_and(|length| length > 0);
    let fields = [
        ("decryption", spec.decryption.is_some()),
        ("kubeConfig", spec.kube_config.is_some()),
        (
            "dependsOn[].readyExpr",
            spec.depends_on
                .iter()
                .flatten()
                .any(|dependency| dependency.ready_expr.is_some()),
        ),
        (
            "healthCheckExprs",
            non_empty(spec.health_check_exprs.as_ref().map(Vec::len)),
        ),
        (
            "sourceRef.kind",
            spec.source_ref.kind != SourceKind::GitRepository,
        ),
    ];
    fields
        .into_iter()
        .find_map(|(field, set)| set.then_some(field))
}

/// The Kustomizations `object` depends on, as `(namespace, name)`; the namespace defaults
/// to the object's own.
pub fn dependencies(object: &Kustomization) -> Vec<(String, String)> {
    let own = object.namespace().unwrap_or_default();
    object
        .spec
        .depends_on
        .iter()
        .flatten()
        .map(|dependency| {
            let namespace = dependency
                .namespace
                .clone()
                .filter(|namespace| !namespace.is_empty())
                .unwrap_or_else(|| own.clone());
            (namespace, dependency.name.clone())
        })
        .collect()
}

/// Why `dependency` does not let its dependent proceed, as Flux decides it: it must have
/// reconciled its latest generation to Ready, and if it builds from the same source, have
/// applied the revision the dependent is about to apply.
fn dependency_problem(
    dependency: &Kustomization,
    source: Option<&SourceKey>,
    revision: &str,
) -> Option<String> {
    let name = format!(
        "{}/{}",
        dependency.namespace().unwrap_or_default(),
        dependency.name_any()
    );
    let status = dependency.status.as_ref();
    let ready = status.is_some_and(|status| {
        status.observed_generation == dependency.metadata.generation
            && status
                .conditions
                .iter()
                .any(|condition| condition.type_ == types::READY && condition.status == "True")
    });
    if !ready {
        return Some(format!("dependency '{name}' is not ready"));
    }
    let same_source = source.is_some() && source_key(dependency).as_ref() == source;
    let applied = status.and_then(|status| status.last_applied_revision.as_deref());
    if same_source && applied != Some(revision) {
        return Some(format!("dependency '{name}' revision is not up to date"));
    }
    None
}

/// The first dependency that is missing or not ready, read from the API (not a cache: a
/// dependency that just turned Ready must be seen so).
async fn unready_dependency(
    shared: &KustomizationShared,
    object: &Kustomization,
    artifact: &ArtifactHandle,
) -> Option<String> {
    let source = source_key(object);
    for (namespace, name) in dependencies(object) {
        let api: Api<Kustomization> = Api::namespaced(shared.client.clone(), &namespace);
        let problem = match api.get_opt(&name).await {
            Ok(Some(dependency)) => {
                dependency_problem(&dependency, source.as_ref(), &artifact.revision)
            }
            Ok(None) => Some(format!("dependency '{namespace}/{name}' not found")),
            Err(error) => Some(format!(
                "failed to read dependency '{namespace}/{name}': {error}"
            )),
        };
        if problem.is_some() {
            return problem;
        }
    }
    None
}

/// A failed reconcile, as status shows it.
struct Failure {
    reason: &'static str,
    message: String,
}

impl Failure {
    fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

async fn reconcile_once(
    shared: &KustomizationShared,
    object: &Kustomization,
    artifact: Option<ArtifactHandle>,
    unavailable: Option<String>,
    written: &mut Vec<AppliedObject>,
) -> Outcome {
    let report = Report { shared, object };
    if object.metadata.deletion_timestamp.is_some() {
        return finalize(shared, object).await;
    }
    if let Some(field) = unsupported_field(&object.spec) {
        let message = format!(
            "spec.{field} is not supported by driftless; remove it, or run Flux's kustomize-controller for this object"
        );
        tracing::warn!(field, "stalled: unsupported field");
        report.stalled(reasons::UNSUPPORTED_FIELD, &message).await;
        return Outcome::Stalled;
    }
    if shared.no_cross_namespace_refs && is_cross_namespace(object) {
        let reference = &object.spec.source_ref;
        let message = format!(
            "cannot access GitRepository/{}/{}, cross-namespace references have been blocked",
            reference.namespace.as_deref().unwrap_or_default(),
            reference.name
        );
        report.stalled(reasons::ACCESS_DENIED, &message).await;
        return Outcome::Stalled;
    }
    let durations = (
        object.spec.interval(),
        object.spec.retry_interval(),
        object.spec.timeout(),
    );
    let timeout = match durations {
        (Ok(_), Ok(_), Ok(timeout)) => timeout,
        (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => {
            report
                .stalled(reasons::INVALID_SPEC, &format!("invalid duration: {error}"))
                .await;
            return Outcome::Stalled;
        }
    };
    if object.spec.is_suspended() {
        tracing::debug!("suspended");
        return Outcome::Suspended;
    }
    let Some(artifact) = artifact else {
        let why = unavailable.unwrap_or_else(|| "the source has no artifact yet".to_string());
        report
            .failed(
                None,
                None,
                &Failure::new(
                    reasons::ARTIFACT_FAILED,
                    format!("Source artifact not found: {why}"),
                ),
            )
            .await;
        return Outcome::NoArtifact;
    };
    let revision = artifact.revision.clone();
    if let Some(problem) = unready_dependency(shared, object, &artifact).await {
        tracing::debug!(problem, "waiting for a dependency");
        report
            .failed(
                None,
                None,
                &Failure::new(reasons::DEPENDENCY_NOT_READY, problem),
            )
            .await;
        return Outcome::WaitingForDependencies;
    }
    if !object.finalizers().iter().any(|known| known == FINALIZER)
        && let Err(error) = set_finalizer(shared, object, true).await
    {
        // Without it, deleting the object would orphan what it applied, whatever prune says.
        let failure = Failure::new(
            reasons::RECONCILIATION_FAILED,
            format!("failed to add the finalizer {FINALIZER}: {error}"),
        );
        report.failed(Some(&revision), None, &failure).await;
        return Outcome::Failed;
    }
    let status = object.status.as_ref();
    let announced = status.and_then(|status| status.observed_generation)
        != object.metadata.generation
        || status.and_then(|status| status.last_attempted_revision.as_deref())
            != Some(revision.as_str());
    if announced {
        report.progressing(&revision).await;
    }
    let mut changes = ChangeSet::default();
    let applied = apply_revision(shared, object, &artifact, timeout, &mut changes, written).await;
    count_changes(object, &changes);
    if let Some(note) = apply::flux_crds_note(&changes.flux_crds_skipped) {
        tracing::warn!(crds = ?changes.flux_crds_skipped, "Flux CRDs skipped");
        report
            .event(EventType::Warning, reasons::FLUX_CRD_SKIPPED, &note)
            .await;
    }
    // apply_revision has released its `--concurrent` slot: a long health wait holds none.
    let applied = match applied {
        Ok(inventory) => {
            match check_health(&report, &revision, &inventory, &changes, timeout, announced).await {
                Ok(healthy) => Ok((inventory, healthy)),
                Err(failure) => Err((failure, Some(inventory))),
            }
        }
        Err(failed) => Err(failed),
    };
    match applied {
        Ok((inventory, healthy)) => {
            metrics::gauge!(
                names::MANAGED_OBJECTS,
                &names::source_labels(
                    KIND,
                    &object.namespace().unwrap_or_default(),
                    &object.name_any()
                )
            )
            .set(inventory.entries.len() as f64);
            let message = format!("Applied revision: {revision}");
            tracing::info!(revision, "applied");
            let was_healthy = report
                .previous(types::HEALTHY)
                .is_some_and(|condition| condition.status == "True");
            report
                .succeeded(&revision, inventory, &message, healthy.as_deref())
                .await;
            if let Some(healthy) = healthy.as_deref().filter(|_| !was_healthy) {
                report
                    .event(EventType::Normal, reasons::SUCCEEDED, healthy)
                    .await;
            }
            let summary = changes.summary();
            if !summary.is_empty() {
                report
                    .event(
                        EventType::Normal,
                        reasons::RECONCILIATION_SUCCEEDED,
                        &summary,
                    )
                    .await;
            }
            Outcome::Done
        }
        Err((failure, inventory)) => {
            tracing::warn!(
                reason = failure.reason,
                message = failure.message,
                "reconcile failed"
            );
            report.failed(Some(&revision), inventory, &failure).await;
            let summary = changes.summary();
            let note = if summary.is_empty() {
                failure.message.clone()
            } else {
                format!("{}\n{summary}", failure.message)
            };
            report
                .event(EventType::Warning, failure.reason, &note)
                .await;
            Outcome::Failed
        }
    }
}

/// Whether the spec asks for the applied objects' health after each apply.
fn checks_health(spec: &KustomizationSpec) -> bool {
    spec.wait == Some(true)
        || spec
            .health_checks
            .as_ref()
            .is_some_and(|refs| !refs.is_empty())
}

/// Waits within `timeout` until the objects `wait` or `healthChecks` name are healthy.
/// Returns the Healthy condition's message, or `None` when the spec asks for no check.
async fn check_health(
    report: &Report<'_>,
    revision: &str,
    inventory: &ResourceInventory,
    changes: &ChangeSet,
    timeout: Duration,
    announced: bool,
) -> Result<Option<String>, Failure> {
    let object = report.object;
    if !checks_health(&object.spec) {
        return Ok(None);
    }
    let skipped: Vec<String> = changes
        .entries
        .iter()
        .filter(|change| change.action == apply::Action::Skipped)
        .map(|change| change.subject.clone())
        .collect();
    let own = ObjectId {
        namespace: object.namespace().unwrap_or_default(),
        name: object.name_any(),
        group: Kustomization::group(&()).into_owned(),
        kind: KIND.to_string(),
    };
    let targets = apply::health::targets(
        object.spec.wait == Some(true),
        object.spec.health_checks.as_deref().unwrap_or_default(),
        inventory,
        &skipped,
        &own,
    );
    let message =
        format!("Running health checks for revision {revision} with a timeout of {timeout:?}");
    report
        .checking_health(revision, inventory, &message, announced)
        .await;
    // Read as the Kustomization's ServiceAccount, as Flux does: health is part of its
    // reconcile, within its rights.
    let mut applier = applier_for(report.shared, report.object)
        .map_err(|error| Failure::new(reasons::HEALTH_CHECK_FAILED, error.to_string()))?;
    match applier.wait_healthy(&targets, timeout).await {
        Ok(took) => Ok(Some(format!(
            "Health check passed in {}",
            apply::health::elapsed(took)
        ))),
        Err(error) => {
            tracing::debug!(%error, retryable = error.is_retryable(), "unhealthy");
            Err(Failure::new(
                reasons::HEALTH_CHECK_FAILED,
                error.to_string(),
            ))
        }
    }
}

/// Adds a reconcile's writes and deletions to the object counters.
fn count_changes(object: &Kustomization, changes: &ChangeSet) {
    let (namespace, name) = (object.namespace().unwrap_or_default(), object.name_any());
    for change in &changes.entries {
        let action = match change.action {
            apply::Action::Created => "created",
            apply::Action::Configured => "configured",
            apply::Action::Deleted => "deleted",
            apply::Action::Unchanged | apply::Action::Skipped => continue,
        };
        let [kind, name, namespace] = names::source_labels(KIND, &namespace, &name);
        metrics::counter!(
            names::OBJECTS_CHANGED,
            &[kind, name, namespace, ("action", action.to_string())]
        )
        .increment(1);
    }
}

/// Renders, validates, applies and prunes one revision. Returns the new inventory; a
/// failure carries the inventory to record when it changed anyway (after a partial prune).
async fn apply_revision(
    shared: &KustomizationShared,
    object: &Kustomization,
    artifact: &ArtifactHandle,
    timeout: Duration,
    changes: &mut ChangeSet,
    written: &mut Vec<AppliedObject>,
) -> Result<ResourceInventory, (Failure, Option<ResourceInventory>)> {
    let _permit = Arc::clone(&shared.reconciles)
        .acquire_owned()
        .await
        .map_err(|_| {
            (
                Failure::new(
                    reasons::RECONCILIATION_FAILED,
                    "the controller is shutting down",
                ),
                None,
            )
        })?;
    let variables = substitute_from(shared, object)
        .await
        .map_err(|failure| (failure, None))?;
    let rendered = render_on_pool(shared, object, artifact, variables)
        .await
        .map_err(|failure| (failure, None))?;
    let desired = apply::validate(rendered).map_err(|error| {
        (
            Failure::new(reasons::RECONCILIATION_FAILED, error.to_string()),
            None,
        )
    })?;
    let desired = if shared.allow_flux_crds {
        desired
    } else {
        apply::set_aside_flux_crds(desired, changes)
    };
    let inventory = apply::inventory_of(&desired);
    let mut applier = applier_for(shared, object).map_err(|error| {
        (
            Failure::new(reasons::RECONCILIATION_FAILED, error.to_string()),
            None,
        )
    })?;
    if object.spec.validation == Some(Validation::None) {
        applier = applier.without_dry_run();
    }
    let applied =
        tokio::time::timeout(timeout, applier.apply_stages(apply::plan(desired), changes)).await;
    written.extend(applier.take_applied());
    match applied {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Err((apply_failure(&error), None)),
        Err(_) => {
            return Err((
                Failure::new(
                    reasons::RECONCILIATION_FAILED,
                    format!("the apply did not finish within the timeout of {timeout:?}"),
                ),
                None,
            ));
        }
    }
    if !object.spec.prune {
        return Ok(inventory);
    }
    let previous = object
        .status
        .as_ref()
        .and_then(|status| status.inventory.clone())
        .unwrap_or_default();
    let (mut stale, invalid) = apply::stale(&previous, &inventory);
    // A Flux CRD owned before it was set aside is left behind, never deleted: deleting it
    // would delete every object of its kind.
    stale.retain(|(id, _)| shared.allow_flux_crds || !apply::is_flux_crd(id));
    for id in &invalid {
        tracing::warn!(
            id,
            "an inventory entry that is not an object id cannot be pruned"
        );
    }
    let failed = applier.prune(stale, changes).await.failed;
    if failed.is_empty() {
        return Ok(inventory);
    }
    // What could not be deleted stays in the inventory, so the next reconcile retries.
    let mut kept = inventory;
    let mut messages = Vec::new();
    for (id, version, error) in failed {
        kept.entries.push(ResourceRef {
            id: id.to_string(),
            version,
        });
        messages.push(error.to_string());
    }
    Err((
        Failure::new(reasons::PRUNE_FAILED, messages.join("; ")),
        Some(kept),
    ))
}

/// Adds (`present`) or removes this controller's finalizer with server-side apply: the
/// finalizers list is a set, so others' entries stay.
async fn set_finalizer(
    shared: &KustomizationShared,
    object: &Kustomization,
    present: bool,
) -> Result<(), kube::Error> {
    let namespace = object.namespace().unwrap_or_default();
    let api: Api<Kustomization> = Api::namespaced(shared.client.clone(), &namespace);
    let finalizers: &[&str] = if present { &[FINALIZER] } else { &[] };
    let patch = json!({
        "apiVersion": Kustomization::api_version(&()),
        "kind": Kustomization::kind(&()),
        "metadata": {"name": object.name_any(), "namespace": namespace, "finalizers": finalizers},
    });
    let params = PatchParams::apply(&shared.field_manager).force();
    api.patch(&object.name_any(), &params, &Patch::Apply(&patch))
        .await
        .map(|_| ())
}

/// Whether deleting the Kustomization deletes what it applied (`deletionPolicy`).
fn deletes_on_deletion(spec: &KustomizationSpec) -> bool {
    match spec.deletion_policy() {
        DeletionPolicy::MirrorPrune => spec.prune,
        DeletionPolicy::Delete | DeletionPolicy::WaitForTermination => true,
        DeletionPolicy::Orphan => false,
    }
}

/// The object is being deleted: garbage-collects its inventory as `deletionPolicy` says
/// (never when suspended), then releases the finalizer. A failed deletion is retried.
async fn finalize(shared: &KustomizationShared, object: &Kustomization) -> Outcome {
    let report = Report { shared, object };
    if !object.finalizers().iter().any(|known| known == FINALIZER) {
        return Outcome::Finalized;
    }
    let inventory = object
        .status
        .as_ref()
        .and_then(|status| status.inventory.clone())
        .unwrap_or_default();
    if deletes_on_deletion(&object.spec) && !object.spec.is_suspended() {
        let (stale, _) = apply::stale(&inventory, &ResourceInventory::default());
        let mut applier = match applier_for(shared, object) {
            Ok(applier) => applier,
            Err(error) => {
                report
                    .event(
                        EventType::Warning,
                        reasons::PRUNE_FAILED,
                        &error.to_string(),
                    )
                    .await;
                return Outcome::Failed;
            }
        };
        let mut changes = ChangeSet::default();
        let pruned = applier.prune(stale, &mut changes).await;
        let summary = changes.summary();
        if !pruned.failed.is_empty() {
            let messages: Vec<String> = pruned
                .failed
                .iter()
                .map(|(_, _, error)| error.to_string())
                .collect();
            let note = format!(
                "pruning for deleted resource failed: {}",
                messages.join("; ")
            );
            report
                .event(EventType::Warning, reasons::PRUNE_FAILED, &note)
                .await;
            return Outcome::Failed;
        }
        if object.spec.deletion_policy() == DeletionPolicy::WaitForTermination {
            let timeout = object.spec.timeout().unwrap_or(Duration::from_secs(30));
            let remaining = applier.wait_gone(&pruned.deleted, timeout).await;
            if !remaining.is_empty() {
                // As Flux: reported, and the finalizer is released anyway.
                let note = format!(
                    "failed to wait for resources termination within {timeout:?}: {}",
                    remaining.join(", ")
                );
                report
                    .event(EventType::Warning, reasons::PRUNE_FAILED, &note)
                    .await;
            }
        }
        if !summary.is_empty() {
            report
                .event(EventType::Normal, reasons::PRUNE_SUCCEEDED, &summary)
                .await;
        }
    }
    match set_finalizer(shared, object, false).await {
        Ok(()) => Outcome::Finalized,
        Err(error) if matches!(&error, kube::Error::Api(status) if status.is_not_found()) => {
            Outcome::Finalized
        }
        Err(error) => {
            tracing::warn!(%error, "failed to release the finalizer");
            Outcome::Failed
        }
    }
}

fn apply_failure(error: &ApplyError) -> Failure {
    Failure::new(reasons::RECONCILIATION_FAILED, error.to_string())
}

/// The substituteFrom variables, in list order (the inline `substitute` comes last and
/// wins, as in Flux).
async fn substitute_from(
    shared: &KustomizationShared,
    object: &Kustomization,
) -> Result<Vec<Vec<(String, String)>>, Failure> {
    let namespace = object.namespace().unwrap_or_default();
    let references = object
        .spec
        .post_build
        .as_ref()
        .and_then(|post_build| post_build.substitute_from.clone())
        .unwrap_or_default();
    let mut variables = Vec::new();
    for reference in references {
        let optional = reference.optional.unwrap_or(false);
        let (kind, found) = match reference.kind {
            SubstituteKind::ConfigMap => {
                let api: Api<ConfigMap> = Api::namespaced(shared.client.clone(), &namespace);
                (
                    "ConfigMap",
                    api.get_opt(&reference.name)
                        .await
                        .map(|found| found.map(|config| config.data.unwrap_or_default())),
                )
            }
            SubstituteKind::Secret => {
                let api: Api<Secret> = Api::namespaced(shared.client.clone(), &namespace);
                (
                    "Secret",
                    api.get_opt(&reference.name).await.map(|found| {
                        found.map(|secret| {
                            secret
                                .data
                                .unwrap_or_default()
                                .into_iter()
                                .map(|(key, value)| {
                                    (key, String::from_utf8_lossy(&value.0).into_owned())
                                })
                                .collect::<BTreeMap<_, _>>()
                        })
                    }),
                )
            }
        };
        match found {
            Ok(Some(data)) => variables.push(data.into_iter().collect()),
            Ok(None) if optional => {}
            Ok(None) => {
                return Err(Failure::new(
                    reasons::BUILD_FAILED,
                    format!(
                        "substitute from '{kind}/{namespace}/{}' failed: it does not exist; create it, or mark it optional",
                        reference.name
                    ),
                ));
            }
            Err(error) => {
                return Err(Failure::new(
                    reasons::BUILD_FAILED,
                    format!(
                        "substitute from '{kind}/{namespace}/{}' failed: {error}",
                        reference.name
                    ),
                ));
            }
        }
    }
    Ok(variables)
}

async fn render_on_pool(
    shared: &KustomizationShared,
    object: &Kustomization,
    artifact: &ArtifactHandle,
    mut variables: Vec<Vec<(String, String)>>,
) -> Result<Vec<serde_json::Value>, Failure> {
    let raw_spec = serde_json::to_value(&object.spec).unwrap_or_default();
    let source = FluxOverridesSource::from_spec(
        &object.spec,
        &raw_spec,
        &object.name_any(),
        &object.namespace().unwrap_or_default(),
    );
    variables.push(source.inline_variables.clone());
    let permit = Arc::clone(&shared.renders)
        .acquire_owned()
        .await
        .map_err(|_| Failure::new(reasons::BUILD_FAILED, "the controller is shutting down"))?;
    let tree = Arc::clone(artifact);
    let span = tracing::Span::current();
    let rendered = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let _entered = span.enter();
        render(&RenderRequest {
            tree: &*tree,
            path: &source.path,
            overrides: &source.overrides,
            variables: &variables,
        })
    })
    .await
    .map_err(|error| {
        Failure::new(
            reasons::BUILD_FAILED,
            format!("the build stopped unexpectedly: {error}"),
        )
    })?;
    match rendered {
        Ok(rendered) => {
            for warning in &rendered.warnings {
                tracing::debug!(warning, "build warning");
            }
            Ok(rendered.objects)
        }
        Err(error) => Err(Failure::new(
            reasons::BUILD_FAILED,
            format!("kustomize build failed: {error}"),
        )),
    }
}

/// Writes the object's status and Events.
struct Report<'a> {
    shared: &'a KustomizationShared,
    object: &'a Kustomization,
}

impl Report<'_> {
    fn condition(&self, kind: &str, status: &str, reason: &str, message: &str) -> Condition {
        let previous = self
            .object
            .status
            .as_ref()
            .map(|status| status.conditions.as_slice())
            .unwrap_or_default();
        status::condition(
            previous,
            self.object.metadata.generation,
            kind,
            status,
            reason,
            message,
        )
    }

    /// The current status, so that what a write leaves out is kept (an applied field left
    /// out would be removed), with the request marked handled.
    fn base(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut status = match self.object.status.as_ref().map(serde_json::to_value) {
            Some(Ok(serde_json::Value::Object(status))) => status,
            _ => serde_json::Map::new(),
        };
        if let Some(requested) = self.object.annotations().get(REQUESTED_AT) {
            status.insert("lastHandledReconcileAt".into(), json!(requested));
        }
        status
    }

    async fn write(&self, status: serde_json::Map<String, serde_json::Value>) {
        status::apply_status(
            &self.shared.client,
            &self.shared.field_manager,
            self.object,
            status,
        )
        .await;
    }

    /// The object's current condition `kind`.
    fn previous(&self, kind: &str) -> Option<Condition> {
        self.object
            .status
            .as_ref()
            .and_then(|status| status.conditions.iter().find(|known| known.type_ == kind))
            .cloned()
    }

    /// The Healthy condition: only while the spec asks for health checks (Flux removes it
    /// otherwise), with this reconcile's `verdict` (status, reason, message) or the last one.
    fn healthy(&self, verdict: Option<(&str, &str, &str)>) -> Option<Condition> {
        if !checks_health(&self.object.spec) {
            return None;
        }
        match verdict {
            Some((status, reason, message)) => {
                Some(self.condition(types::HEALTHY, status, reason, message))
            }
            None => self.previous(types::HEALTHY),
        }
    }

    /// The base of a write made while the reconcile is still running: the request is not
    /// handled yet.
    fn base_in_progress(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut status = self.base();
        status.remove("lastHandledReconcileAt");
        if let Some(previous) = self
            .object
            .status
            .as_ref()
            .and_then(|status| status.last_handled_reconcile_at.clone())
        {
            status.insert("lastHandledReconcileAt".into(), json!(previous));
        }
        status
    }

    fn applying(&self, revision: &str) -> Condition {
        let message = format!("Reconciliation in progress: applying revision {revision}");
        self.condition(types::READY, "Unknown", reasons::PROGRESSING, &message)
    }

    async fn progressing(&self, revision: &str) {
        let mut status = self.base_in_progress();
        let ready = self.applying(revision);
        let reconciling = self.condition(
            types::RECONCILING,
            "True",
            reasons::PROGRESSING,
            &ready.message,
        );
        let conditions: Vec<Condition> = [Some(ready), Some(reconciling), self.healthy(None)]
            .into_iter()
            .flatten()
            .collect();
        status.insert("conditions".into(), json!(conditions));
        self.write(status).await;
    }

    /// Applied, now waiting for health: the inventory is recorded already (what was applied
    /// must be pruned later whatever the health), Ready stays as it was unless this
    /// reconcile announced a new revision.
    async fn checking_health(
        &self,
        revision: &str,
        inventory: &ResourceInventory,
        message: &str,
        announced: bool,
    ) {
        let mut status = self.base_in_progress();
        status.insert("lastAttemptedRevision".into(), json!(revision));
        status.insert("inventory".into(), json!(inventory));
        let ready = if announced {
            Some(self.applying(revision))
        } else {
            self.previous(types::READY)
        };
        let conditions: Vec<Condition> = [
            ready,
            Some(self.condition(types::RECONCILING, "True", reasons::PROGRESSING, message)),
            self.healthy(Some(("Unknown", reasons::PROGRESSING, message))),
        ]
        .into_iter()
        .flatten()
        .collect();
        status.insert("conditions".into(), json!(conditions));
        self.write(status).await;
    }

    /// `healthy`: the message of a health check that passed, if one ran.
    async fn succeeded(
        &self,
        revision: &str,
        inventory: ResourceInventory,
        message: &str,
        healthy: Option<&str>,
    ) {
        let mut status = self.base();
        status.insert(
            "observedGeneration".into(),
            json!(self.object.metadata.generation),
        );
        status.insert("lastAppliedRevision".into(), json!(revision));
        status.insert("lastAttemptedRevision".into(), json!(revision));
        status.insert("inventory".into(), json!(inventory));
        let ready = self.condition(
            types::READY,
            "True",
            reasons::RECONCILIATION_SUCCEEDED,
            message,
        );
        let healthy = self.healthy(healthy.map(|passed| ("True", reasons::SUCCEEDED, passed)));
        status.insert(
            "conditions".into(),
            json!([ready].into_iter().chain(healthy).collect::<Vec<_>>()),
        );
        self.write(status).await;
    }

    async fn failed(
        &self,
        revision: Option<&str>,
        inventory: Option<ResourceInventory>,
        failure: &Failure,
    ) {
        let mut status = self.base();
        if let Some(revision) = revision {
            status.insert("lastAttemptedRevision".into(), json!(revision));
        }
        if let Some(inventory) = inventory {
            status.insert("inventory".into(), json!(inventory));
        }
        let mut conditions =
            vec![self.condition(types::READY, "False", failure.reason, &failure.message)];
        if revision.is_some() {
            conditions.push(self.condition(
                types::RECONCILING,
                "True",
                reasons::PROGRESSING_WITH_RETRY,
                &failure.message,
            ));
        }
        let unhealthy = (failure.reason == reasons::HEALTH_CHECK_FAILED).then_some((
            "False",
            reasons::HEALTH_CHECK_FAILED,
            failure.message.as_str(),
        ));
        conditions.extend(self.healthy(unhealthy));
        status.insert("conditions".into(), json!(conditions));
        self.write(status).await;
    }

    async fn stalled(&self, reason: &'static str, message: &str) {
        let mut status = self.base();
        status.insert(
            "observedGeneration".into(),
            json!(self.object.metadata.generation),
        );
        status.insert(
            "conditions".into(),
            json!([
                self.condition(types::READY, "False", reason, message),
                self.condition(types::STALLED, "True", reason, message),
            ]),
        );
        self.write(status).await;
        self.event(EventType::Warning, reason, message).await;
    }

    /// Sets `Drifted` (when `entries` name drifted objects) or removes it, keeping the
    /// other conditions.
    async fn drifted(&self, entries: &[String]) {
        let mut status = self.base();
        let mut conditions: Vec<Condition> = self
            .object
            .status
            .as_ref()
            .map(|status| status.conditions.clone())
            .unwrap_or_default();
        conditions.retain(|condition| condition.type_ != types::DRIFTED);
        if !entries.is_empty() {
            let message = format!(
                "{} object(s) differ from Git: {}",
                entries.len(),
                entries.join(", ")
            );
            conditions.push(self.condition(
                types::DRIFTED,
                "True",
                reasons::DRIFT_DETECTED,
                &message,
            ));
        }
        status.insert("conditions".into(), json!(conditions));
        self.write(status).await;
    }

    async fn event(&self, kind: EventType, reason: &str, note: &str) {
        status::publish_event(
            &self.shared.recorder,
            &self.object.object_ref(&()),
            kind,
            reason,
            note,
        )
        .await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn kustomization(spec: serde_json::Value) -> Kustomization {
        let mut full = json!({
            "interval": "10m", "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
        });
        full.as_object_mut()
            .unwrap()
            .extend(spec.as_object().unwrap().clone());
        serde_json::from_value(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system"},
            "spec": full,
        }))
        .unwrap()
    }

    #[test]
    fn unimplemented_fields_are_named() {
        assert_eq!(unsupported_field(&kustomization(json!({})).spec), None);
        assert_eq!(
            unsupported_field(
                &kustomization(json!({"wait": true, "dependsOn": [{"name": "infra"}],
                                      "healthChecks": [{"kind": "Deployment", "name": "web"}]}))
                .spec
            ),
            None
        );
        for (spec, field) in [
            (json!({"decryption": {"provider": "sops"}}), "decryption"),
            (
                json!({"kubeConfig": {"secretRef": {"name": "remote"}}}),
                "kubeConfig",
            ),
            (
                json!({"dependsOn": [{"name": "infra", "readyExpr": "dep.status.ready"}]}),
                "dependsOn[].readyExpr",
            ),
            (
                json!({"healthCheckExprs": [{"apiVersion": "example.com/v1", "kind": "Database", "current": "true"}]}),
                "healthCheckExprs",
            ),
            (
                json!({"sourceRef": {"kind": "OCIRepository", "name": "oci"}}),
                "sourceRef.kind",
            ),
        ] {
            assert_eq!(
                unsupported_field(&kustomization(spec.clone()).spec),
                Some(field),
                "{spec}"
            );
        }
        for implemented in [
            json!({"serviceAccountName": "tenant"}),
            json!({"driftDetection": {"mode": "warn"}}),
            json!({"wait": true}),
            json!({"healthChecks": [{"kind": "Deployment", "name": "app"}]}),
        ] {
            assert_eq!(
                unsupported_field(&kustomization(implemented.clone()).spec),
                None,
                "{implemented}"
            );
        }
    }

    #[test]
    fn a_dependency_must_be_ready_at_its_generation_and_at_a_shared_source_s_revision() {
        let with_status = |status: serde_json::Value| {
            let mut object = kustomization(json!({}));
            object.metadata.name = Some("infra".into());
            object.metadata.generation = Some(2);
            object.status = Some(serde_json::from_value(status).unwrap());
            object
        };
        let ready = |generation: i64, revision: &str| {
            with_status(json!({
                "observedGeneration": generation,
                "lastAppliedRevision": revision,
                "conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
                                "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}],
            }))
        };
        let shared = SourceKey::git_repository("flux-system", "flux-system");
        let other = SourceKey::git_repository("flux-system", "other");
        assert_eq!(
            dependency_problem(&ready(2, "main@sha1:b"), Some(&shared), "main@sha1:b"),
            None
        );
        assert_eq!(
            dependency_problem(&ready(2, "main@sha1:a"), Some(&shared), "main@sha1:b"),
            Some("dependency 'flux-system/infra' revision is not up to date".into())
        );
        assert_eq!(
            dependency_problem(&ready(2, "main@sha1:a"), Some(&other), "main@sha1:b"),
            None
        );
        assert_eq!(
            dependency_problem(&ready(1, "main@sha1:b"), Some(&shared), "main@sha1:b"),
            Some("dependency 'flux-system/infra' is not ready".into())
        );
        let failed = with_status(json!({"observedGeneration": 2, "conditions": [
            {"type": "Ready", "status": "False", "reason": "BuildFailed", "message": "",
             "lastTransitionTime": "2026-01-01T00:00:00Z"}]}));
        assert_eq!(
            dependency_problem(&failed, Some(&shared), "main@sha1:b"),
            Some("dependency 'flux-system/infra' is not ready".into())
        );
        assert_eq!(
            dependencies(&kustomization(json!({"dependsOn": [
                {"name": "infra"}, {"name": "crds", "namespace": "platform"}]}))),
            vec![
                ("flux-system".to_string(), "infra".to_string()),
                ("platform".to_string(), "crds".to_string())
            ]
        );
    }

    #[test]
    fn the_source_namespace_defaults_to_the_kustomization_s() {
        assert_eq!(
            source_key(&kustomization(json!({}))),
            Some(SourceKey::git_repository("flux-system", "flux-system"))
        );
        assert_eq!(
            source_key(&kustomization(json!({"sourceRef": {
                "kind": "GitRepository", "name": "shared", "namespace": "infra"
            }}))),
            Some(SourceKey::git_repository("infra", "shared"))
        );
        assert_eq!(
            source_key(&kustomization(
                json!({"sourceRef": {"kind": "Bucket", "name": "b"}})
            )),
            None
        );
        let reference = |namespace: &str| {
            kustomization(json!({"sourceRef": {
                "kind": "GitRepository", "name": "shared", "namespace": namespace
            }}))
        };
        assert!(is_cross_namespace(&reference("infra")));
        assert!(!is_cross_namespace(&reference("flux-system")));
        assert!(!is_cross_namespace(&reference("")));
        assert!(!is_cross_namespace(&kustomization(json!({}))));
    }
}
