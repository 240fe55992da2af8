//! The supervisor: watches GitRepository objects and keeps one [`SourceActor`] per object,
//! started when the object appears, told of every change, stopped (and its storage
//! removed) when the object is deleted; and likewise one [`KustomizationActor`] per
//! Kustomization (watched through `v1`, the stored version: objects written as `v1beta2`
//! are the same objects).
//!
//! The watch is kube's watcher with its backoff: watch errors and API server restarts are
//! retried forever, and after a re-list the objects that disappeared meanwhile are treated
//! as deleted.
//!
//! Must not: fetch, render, apply or write status; the actors do.

use std::collections::{HashMap, HashSet};

use actix::prelude::*;
use futures::StreamExt;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};

use super::kustomization_actor::{self, KustomizationActor, KustomizationShared};
use super::source_actor::{SourceActor, SourceShared, Stop, Updated};
use super::store::SourceKey;
use crate::api::git_repository::v1::GitRepository;
use crate::api::kustomization::v1::Kustomization;

/// Where Kustomization actors run: an Arbiter (a thread with its own runtime) and what
/// the actors on it share, with a client made on that runtime.
#[derive(Clone)]
pub struct Lane {
    pub arbiter: ArbiterHandle,
    pub shared: KustomizationShared,
}

/// Watches GitRepositories and Kustomizations and supervises their actors.
pub struct Supervisor {
    shared: SourceShared,
    /// Kustomization actors are spread over these, in turn.
    lanes: Vec<Lane>,
    next_lane: usize,
    namespace: Option<String>,
    actors: HashMap<SourceKey, Addr<SourceActor>>,
    /// The objects listed since the watcher's last (re)start, while it lists.
    listing: Option<HashSet<SourceKey>>,
    /// Kustomization actors by `(namespace, name)`.
    kustomizations: HashMap<(String, String), Addr<KustomizationActor>>,
    kustomization_listing: Option<HashSet<(String, String)>>,
    /// What each Kustomization depends on (`spec.dependsOn`), so that a change to one
    /// reaches its dependents at once.
    dependencies: HashMap<(String, String), Vec<(String, String)>>,
}

impl Supervisor {
    /// `lanes` must not be empty.
    pub fn new(shared: SourceShared, lanes: Vec<Lane>, namespace: Option<String>) -> Self {
        Self {
            shared,
            lanes,
            next_lane: 0,
            namespace,
            actors: HashMap::new(),
            listing: None,
            kustomizations: HashMap::new(),
            kustomization_listing: None,
            dependencies: HashMap::new(),
        }
    }

    fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>,
    {
        match &self.namespace {
            Some(namespace) => Api::namespaced(self.shared.client.clone(), namespace),
            None => Api::all(self.shared.client.clone()),
        }
    }

    fn kustomization_key(object: &Kustomization) -> (String, String) {
        (object.namespace().unwrap_or_default(), object.name_any())
    }

    fn kustomization_applied(&mut self, mut object: Kustomization) {
        // Every actor keeps its object: without managedFields, which no actor reads and
        // which are most of a watched object's bytes.
        object.metadata.managed_fields = None;
        let key = Self::kustomization_key(&object);
        if let Some(listing) = &mut self.kustomization_listing {
            listing.insert(key.clone());
        }
        // While its finalizer holds it, a deleted Kustomization's actor garbage-collects.
        let finalizing = object
            .finalizers()
            .iter()
            .any(|finalizer| finalizer == crate::api::kustomization::FINALIZER);
        if object.meta().deletion_timestamp.is_some() && !finalizing {
            return self.kustomization_deleted(&key);
        }
        self.dependencies
            .insert(key.clone(), kustomization_actor::dependencies(&object));
        self.notify_dependents(&key);
        match self.kustomizations.get(&key) {
            Some(actor) if actor.connected() => {
                actor.do_send(kustomization_actor::Updated(Box::new(object)));
            }
            _ => {
                tracing::info!(kustomization = %format!("{}/{}", key.0, key.1), "watching a new kustomization");
                let Some(lane) = self.lanes.get(self.next_lane % self.lanes.len().max(1)) else {
                    tracing::error!("no arbiter to run Kustomization actors on");
                    return;
                };
                self.next_lane = self.next_lane.wrapping_add(1);
                let shared = lane.shared.clone();
                let actor = KustomizationActor::start_in_arbiter(&lane.arbiter, move |_| {
                    KustomizationActor::new(shared, object)
                });
                self.kustomizations.insert(key, actor);
            }
        }
    }

    /// Tells the actors of the Kustomizations that depend on `key` that it changed.
    fn notify_dependents(&self, key: &(String, String)) {
        for (dependent, dependencies) in &self.dependencies {
            if dependencies.contains(key)
                && let Some(actor) = self.kustomizations.get(dependent)
            {
                actor.do_send(kustomization_actor::DependencyChanged);
            }
        }
    }

    fn kustomization_deleted(&mut self, key: &(String, String)) {
        self.dependencies.remove(key);
        self.notify_dependents(key);
        if let Some(actor) = self.kustomizations.remove(key) {
            tracing::info!(kustomization = %format!("{}/{}", key.0, key.1), "kustomization deleted");
            actor.do_send(kustomization_actor::Stop);
        }
    }

    fn key_of(object: &GitRepository) -> SourceKey {
        SourceKey::git_repository(
            object.namespace().as_deref().unwrap_or_default(),
            &object.name_any(),
        )
    }

    fn applied(&mut self, mut object: GitRepository) {
        object.metadata.managed_fields = None;
        let key = Self::key_of(&object);
        if let Some(listing) = &mut self.listing {
            listing.insert(key.clone());
        }
        if object.meta().deletion_timestamp.is_some() {
            return self.deleted(&key);
        }
        match self.actors.get(&key) {
            Some(actor) if actor.connected() => actor.do_send(Updated(Box::new(object))),
            _ => {
                tracing::info!(source = %key, "watching a new source");
                let actor = SourceActor::new(self.shared.clone(), object).start();
                self.actors.insert(key, actor);
            }
        }
    }

    fn deleted(&mut self, key: &SourceKey) {
        if let Some(actor) = self.actors.remove(key) {
            tracing::info!(source = %key, "source deleted");
            actor.do_send(Stop);
        }
        self.shared.subscriptions.gone(key);
        self.shared.store.remove_source(key);
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let sources = watcher(self.api::<GitRepository>(), watcher::Config::default())
            .default_backoff()
            .boxed();
        ctx.add_stream(sources);
        let kustomizations = watcher(self.api::<Kustomization>(), watcher::Config::default())
            .default_backoff()
            .boxed();
        ctx.add_stream(kustomizations);
    }
}

type WatchItem = Result<watcher::Event<GitRepository>, watcher::Error>;

impl StreamHandler<WatchItem> for Supervisor {
    fn handle(&mut self, item: WatchItem, _: &mut Self::Context) {
        match item {
            Ok(watcher::Event::Apply(object) | watcher::Event::InitApply(object)) => {
                self.applied(object);
            }
            Ok(watcher::Event::Delete(object)) => self.deleted(&Self::key_of(&object)),
            Ok(watcher::Event::Init) => self.listing = Some(HashSet::new()),
            Ok(watcher::Event::InitDone) => {
                let listed = self.listing.take().unwrap_or_default();
                let vanished: Vec<SourceKey> = self
                    .actors
                    .keys()
                    .filter(|key| !listed.contains(key))
                    .cloned()
                    .collect();
                for key in vanished {
                    self.deleted(&key);
                }
                self.shared
                    .store
                    .remove_unknown(&listed, self.namespace.as_deref());
            }
            Err(error) => {
                tracing::warn!(%error, "GitRepository watch failed; retrying");
            }
        }
    }

    fn finished(&mut self, _: &mut Self::Context) {
        // The watcher retries forever; it ends only when the system shuts down.
        tracing::info!("GitRepository watch ended");
    }
}

type KustomizationItem = Result<watcher::Event<Kustomization>, watcher::Error>;

impl StreamHandler<KustomizationItem> for Supervisor {
    fn handle(&mut self, item: KustomizationItem, _: &mut Self::Context) {
        match item {
            Ok(watcher::Event::Apply(object) | watcher::Event::InitApply(object)) => {
                self.kustomization_applied(object);
            }
            Ok(watcher::Event::Delete(object)) => {
                self.kustomization_deleted(&Self::kustomization_key(&object));
            }
            Ok(watcher::Event::Init) => self.kustomization_listing = Some(HashSet::new()),
            Ok(watcher::Event::InitDone) => {
                let listed = self.kustomization_listing.take().unwrap_or_default();
                let vanished: Vec<(String, String)> = self
                    .kustomizations
                    .keys()
                    .filter(|key| !listed.contains(key))
                    .cloned()
                    .collect();
                for key in vanished {
                    self.kustomization_deleted(&key);
                }
            }
            Err(error) => {
                tracing::warn!(%error, "Kustomization watch failed; retrying");
            }
        }
    }

    fn finished(&mut self, _: &mut Self::Context) {
        tracing::info!("Kustomization watch ended");
    }
}
