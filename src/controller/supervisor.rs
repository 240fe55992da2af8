//! The supervisor: watches GitRepository objects and keeps one [`SourceActor`] per object,
//! started when the object appears, told of every change, stopped (and its storage
//! removed) when the object is deleted.
//!
//! The watch is kube's watcher with its backoff: watch errors and API server restarts are
//! retried forever, and after a re-list the objects that disappeared meanwhile are treated
//! as deleted.
//!
//! Must not: fetch or write status; the actors do.

use std::collections::{HashMap, HashSet};

use actix::prelude::*;
use futures::StreamExt;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};

use super::source_actor::{SourceActor, SourceShared, Stop, Updated};
use super::store::SourceKey;
use crate::api::git_repository::v1::GitRepository;

/// Watches GitRepositories and supervises their actors.
pub struct Supervisor {
    shared: SourceShared,
    namespace: Option<String>,
    actors: HashMap<SourceKey, Addr<SourceActor>>,
    /// The objects listed since the watcher's last (re)start, while it lists.
    listing: Option<HashSet<SourceKey>>,
}

impl Supervisor {
    pub fn new(shared: SourceShared, namespace: Option<String>) -> Self {
        Self {
            shared,
            namespace,
            actors: HashMap::new(),
            listing: None,
        }
    }

    fn key_of(object: &GitRepository) -> SourceKey {
        SourceKey::git_repository(
            object.namespace().as_deref().unwrap_or_default(),
            &object.name_any(),
        )
    }

    fn applied(&mut self, object: GitRepository) {
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
        let api: Api<GitRepository> = match &self.namespace {
            Some(namespace) => Api::namespaced(self.shared.client.clone(), namespace),
            None => Api::all(self.shared.client.clone()),
        };
        let events = watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        ctx.add_stream(events);
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
