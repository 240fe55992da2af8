//! One actor per GitRepository: it fetches the commit the object points at, stores it as
//! an artifact, tells the subscribers, and writes the object's status.
//!
//! A reconcile runs when the actor starts, when `spec` changes (a new generation), when
//! `reconcile.fluxcd.io/requestedAt` changes, every `spec.interval` (with up to 10 %
//! jitter, so sources created together do not poll together), and after a failure with
//! exponential backoff (capped at the interval). Only one reconcile of an object runs at a
//! time; a trigger during one runs another right after it.
//!
//! The fetch runs on the blocking pool (gix is synchronous), bounded by `spec.timeout` and
//! by the controller's `--concurrent-fetches`. A failure keeps the last artifact: it stays
//! stored, served and current for subscribers.
//!
//! Must not: render or apply; it knows nothing of Kustomizations beyond the subscription
//! table.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::Api;
use kube::runtime::events::{EventType, Recorder};
use kube::{Resource, ResourceExt};
use serde_json::json;

use super::metrics as names;
use super::status;
use super::store::{ArtifactHandle, ArtifactStore, SourceKey};
use super::subscriptions::Subscriptions;
use crate::api::conditions::{reasons, types};
use crate::api::git_repository::v1::GitRepository;
use crate::api::meta::Artifact as ArtifactStatus;
use crate::source::git::{self, FetchRequest, GitAuth, GitError, GitReference};

/// The annotation `flux reconcile` sets to ask for a reconcile now.
pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";

/// What every source actor shares.
#[derive(Clone)]
pub struct SourceShared {
    pub client: kube::Client,
    pub store: Arc<ArtifactStore>,
    pub subscriptions: Subscriptions,
    pub fetches: Arc<tokio::sync::Semaphore>,
    pub recorder: Arc<Recorder>,
    pub field_manager: String,
    /// `http://host:port`, the prefix of `status.artifact.url`.
    pub artifact_base_url: String,
    pub max_artifact_size: u64,
}

/// The actor of one GitRepository.
pub struct SourceActor {
    shared: SourceShared,
    key: SourceKey,
    object: GitRepository,
    running: bool,
    again: bool,
    failures: u32,
    timer: Option<SpawnHandle>,
    /// The generation and requestedAt value the last reconcile started from.
    handled: Option<(Option<i64>, Option<String>)>,
}

impl SourceActor {
    pub fn new(shared: SourceShared, object: GitRepository) -> Self {
        let key = SourceKey::git_repository(
            object.namespace().as_deref().unwrap_or_default(),
            &object.name_any(),
        );
        Self {
            shared,
            key,
            object,
            running: false,
            again: false,
            failures: 0,
            timer: None,
            handled: None,
        }
    }

    fn trigger(&self) -> (Option<i64>, Option<String>) {
        (
            self.object.metadata.generation,
            self.object.annotations().get(REQUESTED_AT).cloned(),
        )
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
        let key = self.key.clone();
        let object = self.object.clone();
        let work = async move {
            let _in_flight = names::InFlight::start(&key.kind);
            let started = Instant::now();
            let outcome = reconcile_once(&shared, &key, &object).await;
            names::observe_reconcile(&key.kind, &key.namespace, &key.name, started.elapsed());
            let result = match outcome {
                Outcome::Done => "done",
                Outcome::Failed { .. } => "failed",
                Outcome::Stalled => "stalled",
            };
            names::count_reconcile(&key.kind, &key.namespace, &key.name, result);
            outcome
        };
        ctx.spawn(work.into_actor(self).map(|outcome, actor, ctx| {
            actor.running = false;
            let interval = actor
                .object
                .spec
                .interval()
                .unwrap_or(Duration::from_secs(60));
            let delay = match outcome {
                Outcome::Done => {
                    actor.failures = 0;
                    Some(jittered(interval, &actor.key))
                }
                Outcome::Failed { retryable: true } => {
                    actor.failures = actor.failures.saturating_add(1);
                    Some(backoff(actor.failures, interval))
                }
                // Refused credentials or a missing ref are fixed outside the object (a
                // Secret, a push): tried again at the interval, not hammered.
                Outcome::Failed { retryable: false } => {
                    actor.failures = actor.failures.saturating_add(1);
                    Some(jittered(interval, &actor.key))
                }
                // Needs a change to the object, which arrives as an update.
                Outcome::Stalled => None,
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

impl Actor for SourceActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        names::actor_started(&self.key.kind);
        self.reconcile(ctx);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        names::actor_stopped(&self.key.kind);
    }
}

/// The object changed in the API (any field: the actor decides whether it matters).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Updated(pub Box<GitRepository>);

impl Handler<Updated> for SourceActor {
    type Result = ();

    fn handle(&mut self, message: Updated, ctx: &mut Self::Context) {
        self.object = *message.0;
        if self.handled.as_ref() != Some(&self.trigger()) {
            self.reconcile(ctx);
        }
    }
}

/// The object was deleted: the actor stops.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;

impl Handler<Stop> for SourceActor {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

enum Outcome {
    Done,
    Failed { retryable: bool },
    Stalled,
}

/// A failed reconcile, as status shows it.
struct Failure {
    /// Flux's reason (`GitOperationFailed`, `AuthenticationFailed`, ...).
    reason: &'static str,
    message: String,
    /// Which negative-polarity condition holds it.
    condition: &'static str,
    retryable: bool,
}

async fn reconcile_once(shared: &SourceShared, key: &SourceKey, object: &GitRepository) -> Outcome {
    if let Some(field) = unsupported_field(object) {
        let message = format!(
            "spec.{field} is not supported by driftless; remove it, or run Flux's source-controller for this object"
        );
        tracing::warn!(source = %key, field, "stalled: unsupported field");
        write_stalled(shared, object, reasons::UNSUPPORTED_FIELD, &message).await;
        event(
            shared,
            object,
            EventType::Warning,
            reasons::UNSUPPORTED_FIELD,
            &message,
        )
        .await;
        shared.subscriptions.unavailable(key, &message);
        return Outcome::Stalled;
    }
    if object.spec.is_suspended() {
        tracing::debug!(source = %key, "suspended");
        return Outcome::Done;
    }
    let status = object.status.as_ref();
    if status.and_then(|status| status.observed_generation) != object.metadata.generation
        || status.and_then(|status| status.artifact.as_ref()).is_none()
    {
        // Something a user waits for (a new or changed object): say it is under way.
        write_progressing(shared, object).await;
    }
    let fetched = fetch_artifact(shared, key, object)
        .await
        .map_err(|failure| Failure {
            // Credentials written into the URL never reach status, events or logs.
            message: failure
                .message
                .replace(&object.spec.url, &redact_url(&object.spec.url)),
            ..failure
        });
    match fetched {
        Ok((handle, new)) => {
            if new {
                shared.subscriptions.publish(&handle);
                let message = format!("stored artifact for revision '{}'", handle.revision);
                tracing::info!(source = %key, revision = handle.revision, digest = handle.digest(), "new artifact");
                event(
                    shared,
                    object,
                    EventType::Normal,
                    reasons::NEW_ARTIFACT,
                    &message,
                )
                .await;
            } else if shared.subscriptions.subscriber_count(key) == 0 {
                // Nothing changed; the table still learns of it after a restart.
                shared.subscriptions.publish(&handle);
            }
            metrics::gauge!(
                names::ARTIFACT_SIZE,
                &names::source_labels(&key.kind, &key.namespace, &key.name)
            )
            .set(handle.size() as f64);
            metrics::gauge!(
                names::SOURCE_READY,
                &names::source_labels(&key.kind, &key.namespace, &key.name)
            )
            .set(1.0);
            write_ready(shared, object, &handle).await;
            Outcome::Done
        }
        Err(failure) => {
            tracing::warn!(source = %key, reason = failure.reason, message = failure.message, "reconcile failed");
            metrics::counter!(
                names::FETCH_FAILURES,
                "kind" => key.kind.clone(),
                "name" => key.name.clone(),
                "namespace" => key.namespace.clone(),
                "reason" => failure.reason
            )
            .increment(1);
            metrics::gauge!(
                names::SOURCE_READY,
                &names::source_labels(&key.kind, &key.namespace, &key.name)
            )
            .set(0.0);
            shared.subscriptions.unavailable(key, &failure.message);
            write_failed(shared, object, &failure).await;
            event(
                shared,
                object,
                EventType::Warning,
                failure.reason,
                &failure.message,
            )
            .await;
            Outcome::Failed {
                retryable: failure.retryable,
            }
        }
    }
}

/// The first field of the Flux schema this controller does not implement, if set. Such a
/// field is never ignored: `verify` ignored would hand out unverified commits.
fn unsupported_field(object: &GitRepository) -> Option<&'static str> {
    let spec = &object.spec;
    let non_empty = |list: &Option<Vec<_>>| list.as_ref().is_some_and(|list| !list.is_empty());
    if spec.verification.is_some() {
        Some("verify")
    } else if non_empty(&spec.include) {
        Some("include")
    } else if spec
        .sparse_checkout
        .as_ref()
        .is_some_and(|paths| !paths.is_empty())
    {
        Some("sparseCheckout")
    } else if spec.recurse_submodules == Some(true) {
        Some("recurseSubmodules")
    } else if spec.proxy_secret_ref.is_some() {
        Some("proxySecretRef")
    } else if spec
        .provider
        .is_some_and(|provider| provider != crate::api::git_repository::v1::GitProvider::default())
    {
        Some("provider")
    } else if spec.service_account_name.is_some() {
        Some("serviceAccountName")
    } else {
        None
    }
}

/// Fetches, builds and stores the artifact; says whether it is new (a digest or revision
/// the source did not have).
async fn fetch_artifact(
    shared: &SourceShared,
    key: &SourceKey,
    object: &GitRepository,
) -> Result<(ArtifactHandle, bool), Failure> {
    let spec = &object.spec;
    let timeout = spec.timeout().map_err(|error| Failure {
        reason: reasons::INVALID_SPEC,
        message: format!("spec.timeout: {error}"),
        condition: types::FETCH_FAILED,
        retryable: false,
    })?;
    let auth = match &spec.secret_ref {
        None => GitAuth::default(),
        Some(reference) => read_auth(shared, &key.namespace, &reference.name).await?,
    };
    let permit = Arc::clone(&shared.fetches)
        .acquire_owned()
        .await
        .map_err(|_| Failure {
            reason: reasons::GIT_OPERATION_FAILED,
            message: "the controller is shutting down".to_string(),
            condition: types::FETCH_FAILED,
            retryable: true,
        })?;
    let url = spec.url.clone();
    let reference = GitReference::from_spec(spec.reference.as_ref());
    let ignore = spec.ignore.clone();
    let store = Arc::clone(&shared.store);
    let source = key.clone();
    let max_size = shared.max_artifact_size;
    let previous = store.current(key);
    let previous_handle = previous.clone();
    let blocking = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let work_dir = store.repository_dir(&source);
        let fetch_started = Instant::now();
        let fetched = git::fetch(&FetchRequest {
            url: &url,
            reference: &reference,
            auth: &auth,
            timeout,
            work_dir: &work_dir,
        })
        .map_err(|error| git_failure(&error))?;
        metrics::histogram!(
            names::FETCH_DURATION,
            &names::source_labels(&source.kind, &source.namespace, &source.name)
        )
        .record(fetch_started.elapsed().as_secs_f64());
        // Nothing changed since the last artifact: no rebuild, which would be almost all
        // of an unchanged poll's work.
        if let Some(previous) = previous_handle
            && previous.revision == fetched.revision
            && previous.ignore == ignore
        {
            return Ok(previous);
        }
        let artifact = store
            .build(&fetched.repository, &fetched.commit, ignore.as_deref())
            .map_err(|error| Failure {
                reason: reasons::GIT_OPERATION_FAILED,
                message: format!(
                    "failed to build the artifact of {}: {error}",
                    fetched.revision
                ),
                condition: types::FETCH_FAILED,
                retryable: error.is_retryable(),
            })?;
        if artifact.size() > max_size {
            return Err(Failure {
                reason: reasons::ARTIFACT_TOO_LARGE,
                message: format!(
                    "the artifact of {} is {} bytes, over the --max-artifact-size limit of {max_size} bytes; ignore what the cluster does not need with .sourceignore or spec.ignore",
                    fetched.revision,
                    artifact.size()
                ),
                condition: types::STORAGE_OPERATION_FAILED,
                retryable: false,
            });
        }
        store
            .store(&source, &fetched.revision, ignore.as_deref(), artifact)
            .map_err(|error| Failure {
                reason: reasons::ARCHIVE_OPERATION_FAILED,
                message: error.to_string(),
                condition: types::STORAGE_OPERATION_FAILED,
                retryable: error.is_retryable(),
            })
    });
    let handle = blocking.await.map_err(|error| Failure {
        reason: reasons::GIT_OPERATION_FAILED,
        message: format!("the fetch stopped unexpectedly: {error}"),
        condition: types::FETCH_FAILED,
        retryable: true,
    })??;
    let new = previous.is_none_or(|previous| {
        previous.digest() != handle.digest() || previous.revision != handle.revision
    });
    Ok((handle, new))
}

async fn read_auth(shared: &SourceShared, namespace: &str, name: &str) -> Result<GitAuth, Failure> {
    let secrets: Api<Secret> = Api::namespaced(shared.client.clone(), namespace);
    let secret = match secrets.get_opt(name).await {
        Ok(Some(secret)) => secret,
        Ok(None) => {
            return Err(Failure {
                reason: reasons::AUTHENTICATION_FAILED,
                message: format!(
                    "secret '{namespace}/{name}' named by spec.secretRef does not exist: create it, or fix spec.secretRef"
                ),
                condition: types::FETCH_FAILED,
                retryable: true,
            });
        }
        Err(error) => {
            return Err(Failure {
                reason: reasons::AUTHENTICATION_FAILED,
                message: format!("failed to read secret '{namespace}/{name}': {error}"),
                condition: types::FETCH_FAILED,
                retryable: true,
            });
        }
    };
    let data: BTreeMap<String, Vec<u8>> = secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| (key, value.0))
        .collect();
    GitAuth::from_secret_data(&data).map_err(|error| Failure {
        reason: reasons::AUTHENTICATION_FAILED,
        message: format!("secret '{namespace}/{name}': {error}"),
        condition: types::FETCH_FAILED,
        retryable: false,
    })
}

fn git_failure(error: &GitError) -> Failure {
    let reason = match error {
        GitError::AuthenticationFailed { .. }
        | GitError::InvalidSecret { .. }
        | GitError::SshNotConfigured { .. } => reasons::AUTHENTICATION_FAILED,
        GitError::InvalidUrl { .. } => reasons::URL_INVALID,
        _ => reasons::GIT_OPERATION_FAILED,
    };
    Failure {
        reason,
        message: error.to_string(),
        condition: types::FETCH_FAILED,
        retryable: error.is_retryable(),
    }
}

/// `url` without the user information (`https://user:token@host/` → `https://***@host/`).
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => url.to_string(),
    }
}

/// Up to 10 % more than `interval`, the same for the same source every time.
fn jittered(interval: Duration, key: &SourceKey) -> Duration {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    let fraction = (hasher.finish() % 1000) as f64 / 10_000.0;
    interval.mul_f64(1.0 + fraction)
}

/// 1 s, 2 s, 4 s, ... after consecutive failures, never beyond the interval.
fn backoff(failures: u32, interval: Duration) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    Duration::from_secs(1u64 << exponent).min(interval.max(Duration::from_secs(1)))
}

fn condition(
    object: &GitRepository,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
) -> Condition {
    let previous = object
        .status
        .as_ref()
        .map(|status| status.conditions.as_slice())
        .unwrap_or_default();
    status::condition(
        previous,
        object.metadata.generation,
        kind,
        status,
        reason,
        message,
    )
}

fn artifact_status(shared: &SourceShared, handle: &ArtifactHandle) -> ArtifactStatus {
    ArtifactStatus {
        digest: handle.digest().to_string(),
        path: handle.path.clone(),
        url: format!("{}/{}", shared.artifact_base_url, handle.path),
        revision: handle.revision.clone(),
        last_update_time: Time(handle.stored_at),
        size: i64::try_from(handle.size()).ok(),
        metadata: None,
    }
}

fn base_status(object: &GitRepository) -> serde_json::Map<String, serde_json::Value> {
    let mut status = serde_json::Map::new();
    status.insert(
        "observedGeneration".into(),
        json!(object.metadata.generation),
    );
    if let Some(requested) = object.annotations().get(REQUESTED_AT) {
        status.insert("lastHandledReconcileAt".into(), json!(requested));
    }
    status
}

async fn write_ready(shared: &SourceShared, object: &GitRepository, handle: &ArtifactHandle) {
    let message = format!("stored artifact for revision '{}'", handle.revision);
    let mut status = base_status(object);
    status.insert("artifact".into(), json!(artifact_status(shared, handle)));
    if let Some(ignore) = &object.spec.ignore {
        status.insert("observedIgnore".into(), json!(ignore));
    }
    status.insert(
        "conditions".into(),
        json!([
            condition(object, types::READY, "True", reasons::SUCCEEDED, &message),
            condition(
                object,
                types::ARTIFACT_IN_STORAGE,
                "True",
                reasons::SUCCEEDED,
                &message
            ),
        ]),
    );
    apply_status(shared, object, status).await;
}

async fn write_failed(shared: &SourceShared, object: &GitRepository, failure: &Failure) {
    let mut status = base_status(object);
    let mut conditions = vec![
        condition(
            object,
            types::READY,
            "False",
            failure.reason,
            &failure.message,
        ),
        condition(
            object,
            failure.condition,
            "True",
            failure.reason,
            &failure.message,
        ),
    ];
    // The last good artifact is still stored and served.
    if let Some(handle) = shared.store.current(&SourceKey::git_repository(
        object.namespace().as_deref().unwrap_or_default(),
        &object.name_any(),
    )) {
        let message = format!("stored artifact for revision '{}'", handle.revision);
        status.insert("artifact".into(), json!(artifact_status(shared, &handle)));
        conditions.push(condition(
            object,
            types::ARTIFACT_IN_STORAGE,
            "True",
            reasons::SUCCEEDED,
            &message,
        ));
    }
    status.insert("conditions".into(), json!(conditions));
    apply_status(shared, object, status).await;
}

async fn write_progressing(shared: &SourceShared, object: &GitRepository) {
    let message = "reconciliation in progress";
    // Everything else stays as it was (an applied field left out would be removed): the
    // last artifact, in particular, remains visible while the new one is built.
    let mut status = match object.status.as_ref().map(serde_json::to_value) {
        Some(Ok(serde_json::Value::Object(status))) => status,
        _ => serde_json::Map::new(),
    };
    status.insert(
        "conditions".into(),
        json!([
            condition(
                object,
                types::READY,
                "Unknown",
                reasons::PROGRESSING,
                message
            ),
            condition(
                object,
                types::RECONCILING,
                "True",
                reasons::PROGRESSING,
                message
            ),
        ]),
    );
    apply_status(shared, object, status).await;
}

async fn write_stalled(shared: &SourceShared, object: &GitRepository, reason: &str, message: &str) {
    let mut status = base_status(object);
    status.insert(
        "conditions".into(),
        json!([
            condition(object, types::READY, "False", reason, message),
            condition(object, types::STALLED, "True", reason, message),
        ]),
    );
    apply_status(shared, object, status).await;
}

async fn apply_status(
    shared: &SourceShared,
    object: &GitRepository,
    status: serde_json::Map<String, serde_json::Value>,
) {
    status::apply_status(&shared.client, &shared.field_manager, object, status).await;
}

async fn event(
    shared: &SourceShared,
    object: &GitRepository,
    kind: EventType,
    reason: &str,
    note: &str,
) {
    status::publish_event(
        &shared.recorder,
        &object.object_ref(&()),
        kind,
        reason,
        note,
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_interval() {
        let interval = Duration::from_secs(60);
        assert_eq!(backoff(1, interval), Duration::from_secs(1));
        assert_eq!(backoff(2, interval), Duration::from_secs(2));
        assert_eq!(backoff(4, interval), Duration::from_secs(8));
        assert_eq!(backoff(30, interval), interval);
    }

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            redact_url("https://user:token@git.example.com/org/repo.git"),
            "https://***@git.example.com/org/repo.git"
        );
        assert_eq!(
            redact_url("ssh://git@host:22/repo.git"),
            "ssh://***@host:22/repo.git"
        );
        assert_eq!(redact_url("https://host/a@b"), "https://host/a@b");
        assert_eq!(redact_url("file:///tmp/repo"), "file:///tmp/repo");
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_is_stable() {
        let interval = Duration::from_secs(100);
        let key = SourceKey::git_repository("ns", "repo");
        let first = jittered(interval, &key);
        assert!(first >= interval && first <= Duration::from_secs(110));
        assert_eq!(first, jittered(interval, &key));
    }
}
