//! Drift watches: one watch per resource type of the objects Kustomizations applied,
//! shared by every Kustomization, which forwards each change of an applied object to the
//! actor that applied it; and the per-object record an actor keeps to judge and correct
//! drift.
//!
//! The watches select objects by the `kustomize.toolkit.fluxcd.io/name` label, which every
//! applied object carries, so they stream only managed objects and keep nothing in
//! memory; an object whose label is removed leaves the selection, which the API server
//! reports as a deletion, and the owner then reads the object back to see what happened.
//!
//! Must not: compare or apply objects (the Kustomization actor does, through
//! `crate::apply`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use dashmap::DashMap;
use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;

use crate::api::inventory::ObjectId;
use crate::apply::drift::{self, Fingerprint};
use crate::apply::prune::OWNER_NAME;
use crate::apply::{AppliedObject, Desired, desired};

/// A watched object changed (`live` is its new state) or left the watch (`None`: deleted,
/// or no longer labelled as ours).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct ObjectChanged {
    pub id: ObjectId,
    pub live: Option<Value>,
}

struct Owner {
    /// `Kustomization/<namespace>/<name>`.
    name: String,
    recipient: Recipient<ObjectChanged>,
}

/// The shared watches and who owns which object.
#[derive(Clone)]
pub struct DriftWatches {
    client: kube::Client,
    /// One watch task per (group, kind).
    watches: Arc<DashMap<(String, String), tokio::task::JoinHandle<()>>>,
    owners: Arc<DashMap<ObjectId, Owner>>,
}

impl DriftWatches {
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            watches: Arc::default(),
            owners: Arc::default(),
        }
    }

    /// Routes the changes of `objects` to `recipient`, starting the watches of kinds not
    /// watched yet. Must be called from within a Tokio runtime.
    pub fn track<'a>(
        &self,
        owner: &str,
        objects: impl IntoIterator<Item = (&'a ObjectId, &'a ApiResource)>,
        recipient: &Recipient<ObjectChanged>,
    ) {
        for (id, resource) in objects {
            self.owners.insert(
                id.clone(),
                Owner {
                    name: owner.to_string(),
                    recipient: recipient.clone(),
                },
            );
            let key = (resource.group.clone(), resource.kind.clone());
            if !self.watches.contains_key(&key) {
                let task = tokio::spawn(watch(
                    self.client.clone(),
                    resource.clone(),
                    Arc::clone(&self.owners),
                ));
                self.watches.insert(key, task);
            }
        }
    }

    /// Stops routing the changes of `ids` to `owner` (another owner's routes stay).
    pub fn untrack<'a>(&self, owner: &str, ids: impl IntoIterator<Item = &'a ObjectId>) {
        for id in ids {
            self.owners.remove_if(id, |_, found| found.name == owner);
        }
    }

    /// How many objects are routed to an owner.
    pub fn tracked(&self) -> usize {
        self.owners.len()
    }
}

impl Drop for DriftWatches {
    fn drop(&mut self) {
        // The last handle (the controller's) stops the watch tasks with it.
        if Arc::strong_count(&self.watches) == 1 {
            for task in self.watches.iter() {
                task.abort();
            }
        }
    }
}

async fn watch(client: kube::Client, resource: ApiResource, owners: Arc<DashMap<ObjectId, Owner>>) {
    let api: Api<DynamicObject> = Api::all_with(client, &resource);
    let config = watcher::Config::default().labels(OWNER_NAME);
    let mut events = watcher(api, config).default_backoff().boxed();
    let id_of = |object: &DynamicObject| ObjectId {
        namespace: object.metadata.namespace.clone().unwrap_or_default(),
        name: object.metadata.name.clone().unwrap_or_default(),
        group: resource.group.clone(),
        kind: resource.kind.clone(),
    };
    let forward = |id: ObjectId, live: Option<Value>| {
        let gone = match owners.get(&id) {
            Some(owner) => owner
                .recipient
                .try_send(ObjectChanged {
                    id: id.clone(),
                    live,
                })
                .is_err_and(|error| matches!(error, SendError::Closed(_))),
            None => false,
        };
        if gone {
            owners.remove(&id);
        }
    };
    while let Some(event) = events.next().await {
        match event {
            Ok(watcher::Event::Apply(object) | watcher::Event::InitApply(object)) => {
                let id = id_of(&object);
                forward(id, serde_json::to_value(&object).ok());
            }
            Ok(watcher::Event::Delete(object)) => forward(id_of(&object), None),
            Ok(watcher::Event::Init | watcher::Event::InitDone) => {}
            Err(error) => {
                tracing::warn!(kind = resource.kind, group = resource.group, %error, "drift watch failed; retrying");
            }
        }
    }
}

/// Corrections of one object within this window count towards backing off.
const FLIP_WINDOW: Duration = Duration::from_secs(120);
/// Corrections within the window before the next one waits.
const FREE_CORRECTIONS: usize = 3;
const FIRST_HOLD: Duration = Duration::from_secs(10);
const LONGEST_HOLD: Duration = Duration::from_secs(300);

/// What an actor keeps about one object it applied: little, as a thousand Kustomizations
/// keep ten thousand of these.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub id: ObjectId,
    api_version: String,
    /// The desired object as compact JSON, parsed again only to check or correct it.
    object: Box<str>,
    /// The fingerprint of the object as last seen in sync with the desired one.
    pub baseline: Fingerprint,
    /// The fingerprint last judged drifted (0 for deleted), so that the same drift is not
    /// checked again on every status update.
    pub drifted: Option<Fingerprint>,
    /// When the last corrections happened, newest last.
    corrections: VecDeque<Instant>,
    /// Until when the next correction waits, while it does.
    held_until: Option<Instant>,
}

/// Whether a correction may happen now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Correct now.
    None,
    /// The object flips again and again: this is the start of a wait of this long.
    Started(Duration),
    /// A wait started earlier still runs this long.
    Waiting(Duration),
}

impl Tracked {
    pub fn new(applied: &AppliedObject) -> Self {
        Self {
            id: applied.desired.id.clone(),
            api_version: applied.desired.api_version.clone(),
            object: applied.desired.object.to_string().into_boxed_str(),
            baseline: drift::fingerprint(&applied.live),
            drifted: None,
            corrections: VecDeque::new(),
            held_until: None,
        }
    }

    /// An apply wrote the object again: `applied` is the new truth; the correction
    /// history stays, so an object that keeps flipping is still recognised.
    pub fn reapplied(&mut self, applied: &AppliedObject) {
        self.api_version = applied.desired.api_version.clone();
        self.object = applied.desired.object.to_string().into_boxed_str();
        self.baseline = drift::fingerprint(&applied.live);
        self.drifted = None;
    }

    /// The object to apply, as the last reconcile rendered it.
    pub fn desired(&self) -> Desired {
        Desired {
            id: self.id.clone(),
            api_version: self.api_version.clone(),
            // Our own serialisation of a valid object: it parses.
            object: serde_json::from_str(&self.object).unwrap_or(Value::Null),
        }
    }

    /// How messages name the object.
    pub fn subject(&self) -> String {
        desired::subject(&self.id)
    }

    /// Records a correction made at `now`.
    pub fn corrected(&mut self, now: Instant) {
        self.corrections.push_back(now);
        while self.corrections.len() > 16 {
            self.corrections.pop_front();
        }
    }

    /// Whether to correct at `now`: at once at first; when the object was corrected
    /// again and again (an HPA, a webhook or another controller fighting over a field),
    /// after doubling waits, so the fight is reported, not looped.
    pub fn hold(&mut self, now: Instant) -> Hold {
        if let Some(until) = self.held_until {
            if now < until {
                return Hold::Waiting(until - now);
            }
            self.held_until = None;
            return Hold::None;
        }
        let recent = self.recent_corrections(now);
        if recent < FREE_CORRECTIONS {
            return Hold::None;
        }
        let doublings = u32::try_from(recent - FREE_CORRECTIONS).unwrap_or(u32::MAX);
        let hold = FIRST_HOLD
            .checked_mul(2_u32.saturating_pow(doublings))
            .unwrap_or(LONGEST_HOLD)
            .min(LONGEST_HOLD);
        self.held_until = Some(now + hold);
        Hold::Started(hold)
    }

    /// Corrections within the window before `now`.
    pub fn recent_corrections(&self, now: Instant) -> usize {
        self.corrections
            .iter()
            .filter(|at| now.saturating_duration_since(**at) < FLIP_WINDOW)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::validate;
    use serde_json::json;

    fn tracked() -> Tracked {
        let desired = validate(vec![json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "default"},
            "data": {"a": "1"},
        })])
        .unwrap_or_default()
        .remove(0);
        let mut live = desired.object.clone();
        live["metadata"]["resourceVersion"] = json!("7");
        Tracked::new(&AppliedObject {
            desired,
            resource: ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&()),
            live,
        })
    }

    #[test]
    fn the_baseline_is_the_fingerprint_of_what_the_apply_returned() {
        let tracked = tracked();
        let desired = tracked.desired();
        assert_eq!(desired.object["data"]["a"], "1");
        // The apply's response differs from the desired object only in bookkeeping.
        assert_eq!(tracked.baseline, drift::fingerprint(&desired.object));
        assert_eq!(tracked.subject(), "ConfigMap/default/settings");
    }

    #[test]
    fn an_object_that_keeps_flipping_is_held_longer_and_longer() {
        let mut tracked = tracked();
        let start = Instant::now();
        for second in 0..3 {
            let now = start + Duration::from_secs(second);
            assert_eq!(tracked.hold(now), Hold::None);
            tracked.corrected(now);
        }
        let now = start + Duration::from_secs(3);
        assert_eq!(tracked.hold(now), Hold::Started(FIRST_HOLD));
        assert_eq!(
            tracked.hold(now + Duration::from_secs(4)),
            Hold::Waiting(FIRST_HOLD - Duration::from_secs(4))
        );
        let after = now + FIRST_HOLD;
        assert_eq!(tracked.hold(after), Hold::None);
        tracked.corrected(after);
        assert_eq!(tracked.hold(after), Hold::Started(FIRST_HOLD * 2));
        assert_eq!(tracked.recent_corrections(after), 4);
    }

    #[test]
    fn corrections_far_apart_never_hold() {
        let mut tracked = tracked();
        let start = Instant::now();
        for step in 0..10 {
            let now = start + FLIP_WINDOW * step;
            assert_eq!(tracked.hold(now), Hold::None);
            tracked.corrected(now);
        }
    }

    #[test]
    fn holds_stop_growing() {
        let mut tracked = tracked();
        let start = Instant::now();
        for _ in 0..16 {
            tracked.corrected(start);
        }
        assert_eq!(tracked.hold(start), Hold::Started(LONGEST_HOLD));
    }
}
