//! The world most controller scenarios run in: a namespace of their own, a driftless
//! controller restricted to it, a Git repository served by `git daemon`, and the
//! GitRepository `flux-system` pointing at it.

use std::time::Duration;

use driftless::api::kustomization::v1::Kustomization;
use driftless::controller::{Controller, ControllerOptions};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use serde_json::{Value, json};

use super::git::{GitDaemon, TestRepo, scratch};
use super::{NamespaceGuard, env, kubectl_ok, wait_for};

/// Generous: fetch, render and apply on a loaded 2-core machine can take seconds each.
pub const PATIENCE: Duration = Duration::from_secs(90);

/// One test's world: a namespace, a controller watching it, a Git repository served over
/// `git://`, and the GitRepository `flux-system` pointing at it.
pub struct Scenario {
    pub namespace: NamespaceGuard,
    pub client: kube::Client,
    pub repo: TestRepo,
    _daemon: GitDaemon,
    pub controller: Controller,
    _storage: tempfile::TempDir,
}

impl Scenario {
    pub async fn start(prefix: &str, files: &[(&str, &str)]) -> Self {
        Self::start_with(prefix, files, ControllerOptions::default()).await
    }

    pub async fn start_with(
        prefix: &str,
        files: &[(&str, &str)],
        options: ControllerOptions,
    ) -> Self {
        env().ensure_crds().await.expect("CRDs");
        let namespace = env().namespace(prefix).await;
        let storage = scratch("storage");
        let controller = Controller::start(
            env().client().await,
            ControllerOptions {
                namespace: Some(namespace.name().to_string()),
                storage: storage.path().to_path_buf(),
                concurrent_fetches: 2,
                // Kustomization actors on two arbiters with clients of their own, as in
                // `driftless run` on two cores.
                arbiters: 2,
                client_config: Some(env().config().await),
                ..options
            },
        )
        .await
        .expect("controller starts");
        let repo = TestRepo::new(files);
        let daemon = GitDaemon::start(&repo.root());
        let scenario = Self {
            client: env().client().await,
            namespace,
            repo,
            _daemon: daemon,
            controller,
            _storage: storage,
        };
        scenario.apply(&json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "flux-system", "namespace": scenario.ns()},
            "spec": {"url": scenario._daemon.url("repo.git"), "interval": "1h",
                     "ref": {"branch": "main"}},
        }));
        scenario
    }

    pub fn ns(&self) -> &str {
        self.namespace.name()
    }

    /// Applies an object with kubectl, as a user would (any served version).
    pub fn apply(&self, object: &Value) {
        kubectl_ok(&["apply", "-f", "-"], Some(&object.to_string()));
    }

    /// A Kustomization named `name` in the test namespace building from `flux-system`.
    pub fn kustomization(&self, api_version: &str, name: &str, spec: Value) {
        let mut full = json!({
            "interval": "1h",
            "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
        });
        if let (Some(target), Value::Object(extra)) = (full.as_object_mut(), spec) {
            target.extend(extra);
        }
        self.apply(&json!({
            "apiVersion": format!("kustomize.toolkit.fluxcd.io/{api_version}"),
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": self.ns()},
            "spec": full,
        }));
    }

    /// Commits the work tree and has the GitRepository fetch it now; returns the revision.
    pub fn push(&self, message: &str) -> String {
        let commit = self.repo.commit(message);
        kubectl_ok(
            &[
                "annotate",
                "--overwrite",
                "-n",
                self.ns(),
                "gitrepository/flux-system",
                &format!("reconcile.fluxcd.io/requestedAt={commit}"),
            ],
            None,
        );
        format!("main@sha1:{commit}")
    }

    pub fn revision(&self) -> String {
        format!("main@sha1:{}", self.repo.head())
    }

    pub fn kustomizations(&self) -> Api<Kustomization> {
        Api::namespaced(self.client.clone(), self.ns())
    }

    pub fn config_maps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), self.ns())
    }

    /// Waits until `name` has condition `kind` with `status` and `reason`; returns the object.
    pub async fn wait_condition(
        &self,
        name: &str,
        kind: &str,
        status: &str,
        reason: &str,
    ) -> Kustomization {
        let api = self.kustomizations();
        wait_for(
            &format!("Kustomization {name} with {kind}={status} ({reason})"),
            PATIENCE,
            || async {
                let object = api.get(name).await.ok()?;
                let found = condition(&object, kind)?;
                (found.0 == status && found.1 == reason).then_some(object)
            },
        )
        .await
    }

    /// The Events about Kustomizations in the namespace with `reason`, as listed now.
    pub async fn events(&self, reason: &str) -> Vec<k8s_openapi::api::core::v1::Event> {
        let events: Api<k8s_openapi::api::core::v1::Event> =
            Api::namespaced(self.client.clone(), self.ns());
        let selector = format!("reason={reason},involvedObject.kind=Kustomization");
        events
            .list(&kube::api::ListParams::default().fields(&selector))
            .await
            .map(|list| list.items)
            .unwrap_or_default()
    }

    /// The messages of [`Scenario::events`].
    pub async fn event_messages(&self, reason: &str) -> Vec<String> {
        self.events(reason)
            .await
            .into_iter()
            .filter_map(|event| event.message)
            .collect()
    }

    /// Waits for the first Event about a Kustomization in the test namespace with `reason`.
    pub async fn wait_event(&self, reason: &str) -> k8s_openapi::api::core::v1::Event {
        wait_for(&format!("a {reason} Event"), PATIENCE, || async {
            self.events(reason).await.into_iter().next()
        })
        .await
    }

    /// Waits until `name` is Ready at `revision`.
    pub async fn wait_applied(&self, name: &str, revision: &str) -> Kustomization {
        let api = self.kustomizations();
        wait_for(
            &format!("Kustomization {name} Ready at {revision}"),
            PATIENCE,
            || async {
                let object = api.get(name).await.ok()?;
                let ready = condition(&object, "Ready")?;
                let applied = object.status.as_ref()?.last_applied_revision.as_deref()?;
                (ready.0 == "True" && applied == revision).then_some(object)
            },
        )
        .await
    }
}

impl Drop for Scenario {
    /// The controller stops with the test: finalizers it would have released must not hold
    /// the namespace's deletion forever.
    fn drop(&mut self) {
        super::release_kustomization_finalizers(self.ns());
    }
}

/// The object's condition `kind`, as (status, reason, message).
pub fn condition(object: &Kustomization, kind: &str) -> Option<(String, String, String)> {
    super::condition(&object.status.as_ref()?.conditions, kind)
}
