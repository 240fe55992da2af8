//! Who listens to which source: the table source actors publish through and
//! Kustomization actors subscribe to.
//!
//! A concurrent map keyed by the source's kind, namespace and name. Each entry holds the
//! source's current artifact (or why there is none) and its subscribers, so a subscriber
//! that arrives late is told the current state at once, and one that arrives before the
//! source exists is told when it appears.
//!
//! Must not: fetch, store or render; it only routes [`SourceEvent`]s.

use std::sync::Arc;

use actix::{Message, Recipient};
use dashmap::DashMap;

use super::store::{ArtifactHandle, SourceKey};

/// What a subscriber hears about its source.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub enum SourceEvent {
    /// A new artifact (a new digest: a new commit, or new ignore rules).
    CommitChanged {
        source: SourceKey,
        revision: String,
        digest: String,
        artifact: ArtifactHandle,
    },
    /// The source has no artifact yet (or never had one), and why.
    SourceUnavailable { source: SourceKey, reason: String },
    /// The source object was deleted.
    SourceGone { source: SourceKey },
}

/// A subscriber's identity in the table, so it can leave or re-subscribe.
pub type SubscriberId = String;

#[derive(Debug, Default)]
struct Entry {
    current: Option<ArtifactHandle>,
    /// Why there is no artifact, while there is none.
    unavailable: Option<String>,
    subscribers: Vec<(SubscriberId, Recipient<SourceEvent>)>,
}

/// The subscription table, shared by the supervisor and every actor.
#[derive(Debug, Clone, Default)]
pub struct Subscriptions {
    entries: Arc<DashMap<SourceKey, Entry>>,
}

impl Subscriptions {
    /// Registers `recipient` for `source` (replacing an earlier registration under `id`)
    /// and tells it the source's current state right away.
    pub fn subscribe(&self, source: &SourceKey, id: &str, recipient: Recipient<SourceEvent>) {
        let mut entry = self.entries.entry(source.clone()).or_default();
        entry.subscribers.retain(|(known, _)| known != id);
        let first = match (&entry.current, &entry.unavailable) {
            (Some(artifact), _) => changed(source, artifact),
            (None, Some(reason)) => SourceEvent::SourceUnavailable {
                source: source.clone(),
                reason: reason.clone(),
            },
            (None, None) => SourceEvent::SourceUnavailable {
                source: source.clone(),
                reason: format!("{source} does not exist or has not been fetched yet"),
            },
        };
        recipient.do_send(first);
        entry.subscribers.push((id.to_string(), recipient));
    }

    /// Removes the registration `id` from `source`.
    pub fn unsubscribe(&self, source: &SourceKey, id: &str) {
        if let Some(mut entry) = self.entries.get_mut(source) {
            entry.subscribers.retain(|(known, _)| known != id);
        }
        self.entries.remove_if(source, |_, entry| is_unused(entry));
    }

    /// A new artifact of `source`: every subscriber hears of it.
    pub fn publish(&self, artifact: &ArtifactHandle) {
        let mut entry = self.entries.entry(artifact.source.clone()).or_default();
        entry.current = Some(Arc::clone(artifact));
        entry.unavailable = None;
        let event = changed(&artifact.source, artifact);
        for (_, recipient) in &entry.subscribers {
            recipient.do_send(event.clone());
        }
    }

    /// `source` has no artifact to offer (its first fetch failed): subscribers without one
    /// hear why. A source that already published keeps serving its last artifact.
    pub fn unavailable(&self, source: &SourceKey, reason: &str) {
        let mut entry = self.entries.entry(source.clone()).or_default();
        if entry.current.is_some() {
            return;
        }
        entry.unavailable = Some(reason.to_string());
        for (_, recipient) in &entry.subscribers {
            recipient.do_send(SourceEvent::SourceUnavailable {
                source: source.clone(),
                reason: reason.to_string(),
            });
        }
    }

    /// `source` was deleted: subscribers hear so, and stay registered for its return.
    pub fn gone(&self, source: &SourceKey) {
        if let Some(mut entry) = self.entries.get_mut(source) {
            entry.current = None;
            entry.unavailable = Some(format!("{source} was deleted"));
            for (_, recipient) in &entry.subscribers {
                recipient.do_send(SourceEvent::SourceGone {
                    source: source.clone(),
                });
            }
        }
        self.entries.remove_if(source, |_, entry| is_unused(entry));
    }

    /// How many subscribers `source` has.
    pub fn subscriber_count(&self, source: &SourceKey) -> usize {
        self.entries
            .get(source)
            .map_or(0, |entry| entry.subscribers.len())
    }
}

fn is_unused(entry: &Entry) -> bool {
    entry.subscribers.is_empty() && entry.current.is_none()
}

fn changed(source: &SourceKey, artifact: &ArtifactHandle) -> SourceEvent {
    SourceEvent::CommitChanged {
        source: source.clone(),
        revision: artifact.revision.clone(),
        digest: artifact.digest().to_string(),
        artifact: Arc::clone(artifact),
    }
}
