//! The Kustomization side of `driftless run`, against the local control plane and a real
//! Git server: the seed's examples become Ready, objects are applied with server-side apply
//! and Flux's ownership labels, removed files are pruned (or kept with `prune: false`), a
//! broken commit changes nothing, and Namespaces and CRDs are applied before the objects
//! that need them.
//!
//! Each test runs its own controller restricted to its own namespace, and a GitRepository
//! named `flux-system` served by a local `git daemon`.

mod support;

use std::time::Duration;

use driftless::api::kustomization::v1::Kustomization;
use driftless::controller::ControllerOptions;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use serde_json::{Value, json};
use support::git::{GitDaemon, TestRepo};
use support::scenario::{PATIENCE, Scenario, condition};
use support::{env, http_get, kubectl_ok, wait_for};

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-app
spec:
  replicas: 3
  selector:
    matchLabels:
      app: my-app
  template:
    metadata:
      labels:
        app: my-app
    spec:
      containers:
      - name: my-app-container
        image: nginx:1.21.6
        ports:
        - containerPort: 80
";

fn config_map(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: \"{value}\"\n"
    )
}

fn inventory_ids(object: &Kustomization) -> Vec<(String, String)> {
    object
        .status
        .as_ref()
        .and_then(|status| status.inventory.as_ref())
        .map(|inventory| {
            inventory
                .entries
                .iter()
                .map(|entry| (entry.id.clone(), entry.version.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn labels(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Vec<(String, String)> {
    meta.labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|(key, _)| key.starts_with("kustomize.toolkit.fluxcd.io/"))
        .collect()
}

#[actix_rt::test]
async fn seed_example_1_a_plain_directory_through_v1beta2_becomes_ready() {
    let scenario = Scenario::start(
        "ks-example-1",
        &[(
            "apps/my-app/overlays/production/deployment.yaml",
            DEPLOYMENT,
        )],
    )
    .await;
    // The seed's object, with the test namespace as target: the Deployment names none, and
    // a namespaced object without a namespace fails as in Flux.
    scenario.kustomization(
        "v1beta2",
        "my-app-deployment",
        json!({"interval": "10m", "path": "./apps/my-app/overlays/production",
               "validation": "client", "targetNamespace": scenario.ns()}),
    );
    let revision = scenario.revision();
    let object = scenario.wait_applied("my-app-deployment", &revision).await;

    let ready = condition(&object, "Ready").expect("Ready");
    assert_eq!(ready.1, "ReconciliationSucceeded");
    assert_eq!(ready.2, format!("Applied revision: {revision}"));
    assert_eq!(condition(&object, "Reconciling"), None);
    let status = object.status.as_ref().expect("status");
    assert_eq!(
        status.last_attempted_revision.as_deref(),
        Some(revision.as_str())
    );
    assert_eq!(status.observed_generation, object.metadata.generation);
    assert_eq!(
        inventory_ids(&object),
        vec![(
            format!("{}_my-app_apps_Deployment", scenario.ns()),
            "apps/v1".to_string()
        )]
    );

    let deployments: Api<Deployment> = Api::namespaced(scenario.client.clone(), scenario.ns());
    let deployment = deployments
        .get("my-app")
        .await
        .expect("the Deployment exists");
    assert_eq!(
        deployment.spec.as_ref().and_then(|spec| spec.replicas),
        Some(3)
    );
    assert_eq!(
        labels(&deployment.metadata),
        vec![
            (
                "kustomize.toolkit.fluxcd.io/name".to_string(),
                "my-app-deployment".to_string()
            ),
            (
                "kustomize.toolkit.fluxcd.io/namespace".to_string(),
                scenario.ns().to_string()
            ),
        ]
    );
    let managers: Vec<String> = deployment
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|entry| entry.operation.as_deref() == Some("Apply"))
        .filter_map(|entry| entry.manager.clone())
        .collect();
    assert_eq!(managers, vec!["driftless".to_string()]);

    // One Event summarises the change set.
    let expected = format!("Deployment/{}/my-app created", scenario.ns());
    let event = scenario.wait_event("ReconciliationSucceeded").await;
    assert_eq!(event.message.as_deref(), Some(expected.as_str()));
    assert_eq!(event.type_.as_deref(), Some("Normal"));

    // A reconcile on request marks the request handled and changes nothing.
    kubectl_ok(
        &[
            "annotate",
            "--overwrite",
            "-n",
            scenario.ns(),
            "kustomization.kustomize.toolkit.fluxcd.io/my-app-deployment",
            "reconcile.fluxcd.io/requestedAt=now-1",
        ],
        None,
    );
    let api = scenario.kustomizations();
    wait_for("lastHandledReconcileAt", PATIENCE, || async {
        let object = api.get("my-app-deployment").await.ok()?;
        (object.status?.last_handled_reconcile_at.as_deref() == Some("now-1")).then_some(())
    })
    .await;
    let after = deployments
        .get("my-app")
        .await
        .expect("the Deployment exists");
    // The generation, not the resourceVersion: the deployment controller writes status.
    assert_eq!(after.metadata.generation, deployment.metadata.generation);
    assert_eq!(labels(&after.metadata), labels(&deployment.metadata));

    // The metrics page counts what happened, per Kustomization.
    let page = String::from_utf8(
        http_get(&format!("http://{}/metrics", scenario.controller.http_addr)).await,
    )
    .expect("UTF-8 metrics");
    let labels = format!(
        "kind=\"Kustomization\",name=\"my-app-deployment\",namespace=\"{}\"",
        scenario.ns()
    );
    for line in [
        format!("driftless_managed_objects{{{labels}}} 1"),
        format!("driftless_kustomization_ready{{{labels}}} 1"),
        format!("driftless_objects_changed_total{{{labels},action=\"created\"}} 1"),
    ] {
        assert!(
            page.lines().any(|found| found == line),
            "no `{line}` in:\n{page}"
        );
    }
    assert!(page.contains(&format!(
        "driftless_reconciles_total{{{labels},result=\"done\"}}"
    )));
}

#[actix_rt::test]
async fn seed_example_2_the_production_overlay_rolls_out_five_replicas() {
    let base = DEPLOYMENT.replace("  replicas: 3\n", "");
    let scenario = Scenario::start(
        "ks-example-2",
        &[
            ("apps/my-app/base/deployment.yaml", base.as_str()),
            (
                "apps/my-app/overlays/production/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../../base/deployment.yaml\npatchesStrategicMerge:\n- replicas.yaml\n",
            ),
            (
                "apps/my-app/overlays/production/replicas.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: my-app\nspec:\n  replicas: 5\n",
            ),
        ],
    )
    .await;
    scenario.kustomization(
        "v1beta2",
        "my-app-deployment",
        json!({"path": "./apps/my-app/overlays/production", "validation": "client",
               "targetNamespace": scenario.ns()}),
    );
    scenario
        .wait_applied("my-app-deployment", &scenario.revision())
        .await;
    let deployments: Api<Deployment> = Api::namespaced(scenario.client.clone(), scenario.ns());
    let deployment = deployments
        .get("my-app")
        .await
        .expect("the Deployment exists");
    assert_eq!(
        deployment.spec.as_ref().and_then(|spec| spec.replicas),
        Some(5)
    );

    // A commit changing the overlay is applied to the same object.
    scenario.repo.write_files(&[(
        "apps/my-app/overlays/production/replicas.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: my-app\nspec:\n  replicas: 2\n",
    )]);
    let revision = scenario.push("two replicas");
    scenario.wait_applied("my-app-deployment", &revision).await;
    let deployment = deployments
        .get("my-app")
        .await
        .expect("the Deployment exists");
    assert_eq!(
        deployment.spec.as_ref().and_then(|spec| spec.replicas),
        Some(2)
    );
}

#[actix_rt::test]
async fn a_file_removed_from_git_is_pruned_and_kept_with_prune_false() {
    let scenario = Scenario::start(
        "ks-prune",
        &[
            ("deploy/a.yaml", config_map("a", "1").as_str()),
            ("deploy/b.yaml", config_map("b", "1").as_str()),
            ("deploy/c.yaml", config_map("c", "1").as_str()),
        ],
    )
    .await;
    scenario.kustomization(
        "v1",
        "apps",
        json!({"path": "./deploy", "targetNamespace": scenario.ns()}),
    );
    let object = scenario.wait_applied("apps", &scenario.revision()).await;
    assert_eq!(inventory_ids(&object).len(), 3);
    let config_maps = scenario.config_maps();

    scenario.repo.remove("deploy/b.yaml");
    let revision = scenario.push("remove b");
    let object = scenario.wait_applied("apps", &revision).await;
    assert!(
        config_maps.get_opt("b").await.expect("read b").is_none(),
        "b is pruned"
    );
    assert!(config_maps.get_opt("a").await.expect("read a").is_some());
    let ns = scenario.ns();
    assert_eq!(
        inventory_ids(&object),
        vec![
            (format!("{ns}_a__ConfigMap"), "v1".to_string()),
            (format!("{ns}_c__ConfigMap"), "v1".to_string()),
        ]
    );

    // With prune: false, a removed file's object stays.
    scenario.kustomization(
        "v1",
        "apps",
        json!({"path": "./deploy", "targetNamespace": scenario.ns(), "prune": false}),
    );
    scenario.repo.remove("deploy/a.yaml");
    let revision = scenario.push("remove a");
    scenario.wait_applied("apps", &revision).await;
    assert!(
        config_maps.get_opt("a").await.expect("read a").is_some(),
        "a is kept"
    );
    assert!(config_maps.get_opt("c").await.expect("read c").is_some());
}

#[actix_rt::test]
async fn a_commit_with_broken_yaml_leaves_every_live_object_untouched() {
    let scenario = Scenario::start(
        "ks-broken",
        &[
            ("deploy/a.yaml", config_map("a", "1").as_str()),
            ("deploy/b.yaml", config_map("b", "1").as_str()),
        ],
    )
    .await;
    scenario.kustomization(
        "v1",
        "apps",
        json!({"path": "./deploy", "targetNamespace": scenario.ns()}),
    );
    let good = scenario.revision();
    scenario.wait_applied("apps", &good).await;
    let config_maps = scenario.config_maps();
    let before = config_maps.get("a").await.expect("a");

    // One file changes a value, another is not YAML, a third was removed: nothing may move.
    scenario.repo.write_files(&[
        ("deploy/a.yaml", config_map("a", "2").as_str()),
        (
            "deploy/broken.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n",
        ),
    ]);
    scenario.repo.remove("deploy/b.yaml");
    let revision = scenario.push("broken");
    let object = scenario
        .wait_condition("apps", "Ready", "False", "BuildFailed")
        .await;
    let (_, _, message) = condition(&object, "Ready").expect("Ready");
    assert!(
        message.contains("broken.yaml"),
        "the message names the file: {message}"
    );
    let status = object.status.as_ref().expect("status");
    assert_eq!(status.last_applied_revision.as_deref(), Some(good.as_str()));
    assert_eq!(
        status.last_attempted_revision.as_deref(),
        Some(revision.as_str())
    );
    assert_eq!(inventory_ids(&object).len(), 2, "the inventory is kept");
    let after = config_maps.get("a").await.expect("a");
    assert_eq!(
        after.metadata.resource_version,
        before.metadata.resource_version
    );
    assert!(
        config_maps.get_opt("b").await.expect("read b").is_some(),
        "b is not pruned"
    );
}

#[actix_rt::test]
async fn a_namespace_and_its_objects_in_one_commit() {
    let scenario = Scenario::start("ks-namespace", &[]).await;
    let target = format!("{}-apps", scenario.ns());
    scenario.repo.write_files(&[
        (
            "deploy/namespace.yaml",
            format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {target}\n").as_str(),
        ),
        (
            "deploy/settings.yaml",
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {target}\n"
            )
            .as_str(),
        ),
    ]);
    let revision = scenario.push("namespace and config");
    scenario.kustomization("v1", "apps", json!({"path": "./deploy"}));
    let object = scenario.wait_applied("apps", &revision).await;
    assert_eq!(
        inventory_ids(&object),
        vec![
            (format!("_{target}__Namespace"), "v1".to_string()),
            (format!("{target}_settings__ConfigMap"), "v1".to_string()),
        ]
    );
    let config_maps: Api<ConfigMap> = Api::namespaced(scenario.client.clone(), &target);
    assert!(
        config_maps
            .get_opt("settings")
            .await
            .expect("read")
            .is_some()
    );
    let namespaces: Api<Namespace> = Api::all(scenario.client.clone());
    let _ = namespaces
        .delete(&target, &DeleteParams::background())
        .await;
}

#[actix_rt::test]
async fn a_crd_and_a_custom_resource_of_it_in_one_commit() {
    let scenario = Scenario::start("ks-crd", &[]).await;
    let group = format!("{}.example.com", scenario.ns());
    let crd = format!(
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.{group}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: crontabs, singular: crontab, kind: CronTab}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              schedule: {{type: string}}
"
    );
    let resource = format!(
        "apiVersion: {group}/v1\nkind: CronTab\nmetadata:\n  name: nightly\nspec:\n  schedule: \"0 3 * * *\"\n"
    );
    scenario.repo.write_files(&[
        ("deploy/crd.yaml", crd.as_str()),
        ("deploy/crontab.yaml", resource.as_str()),
    ]);
    let revision = scenario.push("crd and resource");
    scenario.kustomization(
        "v1",
        "apps",
        json!({"path": "./deploy", "targetNamespace": scenario.ns()}),
    );
    scenario.wait_applied("apps", &revision).await;
    let api: Api<DynamicObject> = Api::namespaced_with(
        scenario.client.clone(),
        scenario.ns(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk(&group, "v1", "CronTab")),
    );
    let crontab = api.get("nightly").await.expect("the CronTab exists");
    assert_eq!(crontab.data["spec"]["schedule"], json!("0 3 * * *"));
    let crds: Api<CustomResourceDefinition> = Api::all(scenario.client.clone());
    let _ = crds
        .delete(&format!("crontabs.{group}"), &DeleteParams::background())
        .await;
}

#[actix_rt::test]
async fn unimplemented_fields_stall_and_a_missing_target_namespace_fails_clearly() {
    let scenario = Scenario::start(
        "ks-refusals",
        &[("deploy/a.yaml", config_map("a", "1").as_str())],
    )
    .await;
    scenario.kustomization(
        "v1",
        "waits",
        json!({"path": "./deploy", "targetNamespace": scenario.ns(),
               "healthCheckExprs": [{"apiVersion": "example.com/v1", "kind": "Database",
                                       "current": "true"}]}),
    );
    let object = scenario
        .wait_condition("waits", "Stalled", "True", "UnsupportedField")
        .await;
    let (status, reason, message) = condition(&object, "Ready").expect("Ready");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "UnsupportedField")
    );
    assert!(message.contains("spec.healthCheckExprs"), "{message}");

    scenario.kustomization(
        "v1",
        "elsewhere",
        json!({"path": "./deploy", "targetNamespace": "no-such-namespace-here"}),
    );
    let object = scenario
        .wait_condition("elsewhere", "Ready", "False", "ReconciliationFailed")
        .await;
    let (_, _, message) = condition(&object, "Ready").expect("Ready");
    assert!(
        message.contains("namespace 'no-such-namespace-here'")
            && message.contains("does not exist"),
        "{message}"
    );
    // Nothing was applied by either.
    assert!(
        scenario
            .config_maps()
            .get_opt("a")
            .await
            .expect("read a")
            .is_none()
    );

    // Patching the field away lets the stalled one reconcile.
    let api = scenario.kustomizations();
    api.patch(
        "waits",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"healthCheckExprs": null}})),
    )
    .await
    .expect("patch");
    scenario.wait_applied("waits", &scenario.revision()).await;
    assert!(
        scenario
            .config_maps()
            .get_opt("a")
            .await
            .expect("read a")
            .is_some()
    );
}

#[actix_rt::test]
async fn deleting_a_kustomization_collects_its_objects_unless_the_policy_orphans_them() {
    let scenario = Scenario::start(
        "ks-deletion",
        &[
            ("collected/a.yaml", config_map("a", "1").as_str()),
            ("orphaned/b.yaml", config_map("b", "1").as_str()),
        ],
    )
    .await;
    let target = scenario.ns().to_string();
    scenario.kustomization(
        "v1",
        "collected",
        json!({"path": "./collected", "targetNamespace": target}),
    );
    scenario.kustomization(
        "v1",
        "orphaned",
        json!({"path": "./orphaned", "targetNamespace": target, "deletionPolicy": "Orphan"}),
    );
    let revision = scenario.revision();
    let object = scenario.wait_applied("collected", &revision).await;
    assert_eq!(
        object.metadata.finalizers,
        Some(vec!["finalizers.fluxcd.io".to_string()])
    );
    scenario.wait_applied("orphaned", &revision).await;

    let api = scenario.kustomizations();
    for name in ["collected", "orphaned"] {
        api.delete(name, &DeleteParams::default())
            .await
            .expect("delete");
    }
    for name in ["collected", "orphaned"] {
        wait_for(&format!("Kustomization {name} gone"), PATIENCE, || async {
            api.get_opt(name).await.ok()?.is_none().then_some(())
        })
        .await;
    }
    let config_maps = scenario.config_maps();
    assert!(
        config_maps.get_opt("a").await.expect("read a").is_none(),
        "a is collected"
    );
    assert!(
        config_maps.get_opt("b").await.expect("read b").is_some(),
        "b is orphaned"
    );
}

#[actix_rt::test]
async fn markers_substitution_from_the_cluster_and_sops_objects() {
    let scenario = Scenario::start(
        "ks-markers",
        &[
            (
                "deploy/kept.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n",
            ),
            (
                "deploy/once.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: once\n  annotations:\n    kustomize.toolkit.fluxcd.io/ssa: IfNotPresent\ndata:\n  value: ${GREETING}\n",
            ),
            (
                "deploy/greeting.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  value: ${GREETING} ${NAME:=world}\n",
            ),
        ],
    )
    .await;
    scenario.apply(&json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "vars", "namespace": scenario.ns()},
        "data": {"GREETING": "hello"},
    }));
    scenario.kustomization(
        "v1",
        "apps",
        json!({"path": "./deploy", "targetNamespace": scenario.ns(),
        "postBuild": {"substituteFrom": [
            {"kind": "ConfigMap", "name": "vars"},
            {"kind": "Secret", "name": "absent", "optional": true},
        ]}}),
    );
    scenario.wait_applied("apps", &scenario.revision()).await;
    let config_maps = scenario.config_maps();
    let value = |config: ConfigMap| {
        config
            .data
            .unwrap_or_default()
            .get("value")
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(value(config_maps.get("once").await.expect("once")), "hello");
    assert_eq!(
        value(config_maps.get("greeting").await.expect("greeting")),
        "hello world"
    );

    // IfNotPresent: never changed once it exists; prune: disabled: never deleted.
    scenario.repo.write_files(&[(
        "deploy/once.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: once\n  annotations:\n    kustomize.toolkit.fluxcd.io/ssa: IfNotPresent\ndata:\n  value: changed\n",
    )]);
    scenario.repo.remove("deploy/kept.yaml");
    let revision = scenario.push("change once, remove kept");
    scenario.wait_applied("apps", &revision).await;
    assert_eq!(value(config_maps.get("once").await.expect("once")), "hello");
    assert!(
        config_maps
            .get_opt("kept")
            .await
            .expect("read kept")
            .is_some(),
        "kept is not pruned"
    );

    // An encrypted object is refused before anything is applied.
    scenario.repo.write_files(&[
        (
            "deploy/token.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\ndata:\n  token: RU5DW0FFUzI1Nl0=\nsops:\n  mac: ENC[AES256_GCM,data:abc]\n",
        ),
        (
            "deploy/greeting.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  value: bye\n",
        ),
    ]);
    scenario.push("encrypted secret");
    let object = scenario
        .wait_condition("apps", "Ready", "False", "ReconciliationFailed")
        .await;
    let (_, _, message) = condition(&object, "Ready").expect("Ready");
    assert!(
        message.contains("Secret/") && message.contains("SOPS"),
        "{message}"
    );
    assert_eq!(
        value(config_maps.get("greeting").await.expect("greeting")),
        "hello world"
    );

    // A required substituteFrom source that is missing fails the build.
    scenario.kustomization(
        "v1",
        "apps",
        json!({"path": "./deploy", "targetNamespace": scenario.ns(),
               "postBuild": {"substituteFrom": [{"kind": "Secret", "name": "absent"}]}}),
    );
    let object = scenario
        .wait_condition("apps", "Ready", "False", "BuildFailed")
        .await;
    let (_, _, message) = condition(&object, "Ready").expect("Ready");
    assert!(
        message.contains("Secret/") && message.contains("absent"),
        "{message}"
    );
}

#[actix_rt::test]
async fn a_changed_source_ref_is_followed() {
    let scenario = Scenario::start(
        "ks-source-ref",
        &[("deploy/a.yaml", config_map("a", "from-first").as_str())],
    )
    .await;
    let other = TestRepo::new(&[("deploy/a.yaml", config_map("a", "from-other").as_str())]);
    let other_daemon = GitDaemon::start(&other.root());
    scenario.apply(&json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "other", "namespace": scenario.ns()},
        "spec": {"url": other_daemon.url("repo.git"), "interval": "1h", "ref": {"branch": "main"}},
    }));
    scenario.kustomization(
        "v1",
        "apps",
        json!({"path": "./deploy", "targetNamespace": scenario.ns()}),
    );
    scenario.wait_applied("apps", &scenario.revision()).await;
    let config_maps = scenario.config_maps();
    let value = |config: ConfigMap| config.data.unwrap_or_default().get("value").cloned();
    assert_eq!(
        value(config_maps.get("a").await.expect("a")).as_deref(),
        Some("from-first")
    );

    scenario.kustomization(
        "v1",
        "apps",
        json!({"path": "./deploy", "targetNamespace": scenario.ns(),
               "sourceRef": {"kind": "GitRepository", "name": "other"}}),
    );
    scenario
        .wait_applied("apps", &format!("main@sha1:{}", other.head()))
        .await;
    assert_eq!(
        value(config_maps.get("a").await.expect("a")).as_deref(),
        Some("from-other")
    );

    // The old source no longer triggers it: a push there changes nothing.
    scenario
        .repo
        .write_files(&[("deploy/a.yaml", config_map("a", "first-again").as_str())]);
    let pushed = scenario.push("ignored");
    let sources: Api<driftless::api::git_repository::v1::GitRepository> =
        Api::namespaced(scenario.client.clone(), scenario.ns());
    wait_for("flux-system at the new commit", PATIENCE, || async {
        let object = sources.get("flux-system").await.ok()?;
        (object.status?.artifact?.revision == pushed).then_some(())
    })
    .await;
    // One more reconcile of the Kustomization, on request, proves it is still on `other`.
    kubectl_ok(
        &[
            "annotate",
            "--overwrite",
            "-n",
            scenario.ns(),
            "kustomization.kustomize.toolkit.fluxcd.io/apps",
            "reconcile.fluxcd.io/requestedAt=after-push",
        ],
        None,
    );
    let api = scenario.kustomizations();
    let object = wait_for("the request handled", PATIENCE, || async {
        let object = api.get("apps").await.ok()?;
        (object.status.as_ref()?.last_handled_reconcile_at.as_deref() == Some("after-push"))
            .then_some(object)
    })
    .await;
    assert_eq!(
        object
            .status
            .and_then(|status| status.last_applied_revision),
        Some(format!("main@sha1:{}", other.head()))
    );
    assert_eq!(
        value(config_maps.get("a").await.expect("a")).as_deref(),
        Some("from-other")
    );
}

#[actix_rt::test]
async fn a_dependent_waits_for_its_dependency_and_follows_it_at_once() {
    let scenario = Scenario::start(
        "ks-depends-on",
        &[
            ("infra/settings.yaml", config_map("settings", "1").as_str()),
            ("app/app.yaml", config_map("app", "1").as_str()),
        ],
    )
    .await;
    let target = scenario.ns().to_string();
    scenario.kustomization(
        "v1",
        "app",
        json!({"path": "./app", "targetNamespace": target, "dependsOn": [{"name": "infra"}]}),
    );
    let object = scenario
        .wait_condition("app", "Ready", "False", "DependencyNotReady")
        .await;
    let (_, _, message) = condition(&object, "Ready").expect("Ready");
    assert_eq!(message, format!("dependency '{target}/infra' not found"));
    assert!(
        scenario
            .config_maps()
            .get_opt("app")
            .await
            .expect("read")
            .is_none()
    );

    // The interval and retryInterval are an hour: only the dependency's change can wake it.
    scenario.kustomization(
        "v1",
        "infra",
        json!({"path": "./infra", "targetNamespace": target}),
    );
    let revision = scenario.revision();
    scenario.wait_applied("infra", &revision).await;
    scenario.wait_applied("app", &revision).await;
    assert!(
        scenario
            .config_maps()
            .get_opt("app")
            .await
            .expect("read")
            .is_some()
    );
}

#[actix_rt::test]
async fn an_immutable_field_change_fails_unless_force_recreates_the_object() {
    let deployment = |app: &str| DEPLOYMENT.replace("app: my-app", &format!("app: {app}"));
    let scenario = Scenario::start(
        "ks-force",
        &[("deploy/web.yaml", deployment("web").as_str())],
    )
    .await;
    let target = scenario.ns().to_string();
    scenario.kustomization(
        "v1",
        "apps",
        json!({"path": "./deploy", "targetNamespace": target}),
    );
    scenario.wait_applied("apps", &scenario.revision()).await;
    let deployments: Api<Deployment> = Api::namespaced(scenario.client.clone(), scenario.ns());
    let first = deployments.get("my-app").await.expect("my-app");

    // A new selector cannot be applied in place.
    scenario
        .repo
        .write_files(&[("deploy/web.yaml", deployment("web-2").as_str())]);
    let revision = scenario.push("new selector");
    let object = scenario
        .wait_condition("apps", "Ready", "False", "ReconciliationFailed")
        .await;
    let (_, _, message) = condition(&object, "Ready").expect("Ready");
    assert!(
        message.contains("Deployment/") && message.contains("immutable"),
        "{message}"
    );
    let unchanged = deployments.get("my-app").await.expect("my-app");
    assert_eq!(unchanged.metadata.uid, first.metadata.uid);

    // spec.force: deleted and created again.
    scenario.kustomization(
        "v1",
        "apps",
        json!({"path": "./deploy", "targetNamespace": target, "force": true}),
    );
    scenario.wait_applied("apps", &revision).await;
    let recreated = deployments.get("my-app").await.expect("my-app");
    assert_ne!(recreated.metadata.uid, first.metadata.uid);
    let selector = recreated
        .spec
        .and_then(|spec| spec.selector.match_labels)
        .unwrap_or_default();
    assert_eq!(selector.get("app").map(String::as_str), Some("web-2"));
}

#[actix_rt::test]
async fn fields_kubectl_added_are_taken_over_and_removed() {
    let scenario = Scenario::start(
        "ks-takeover",
        &[("deploy/settings.yaml", config_map("settings", "1").as_str())],
    )
    .await;
    // Created by hand first, with a key Git does not hold.
    let by_hand = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {}\ndata:\n  value: \"1\"\n  extra: by-hand\n",
        scenario.ns()
    );
    kubectl_ok(&["apply", "-f", "-"], Some(&by_hand));
    scenario.kustomization(
        "v1",
        "apps",
        json!({"path": "./deploy", "targetNamespace": scenario.ns()}),
    );
    scenario.wait_applied("apps", &scenario.revision()).await;
    let config_maps = scenario.config_maps();
    let keys = |config: &ConfigMap| -> Vec<String> {
        config
            .data
            .clone()
            .unwrap_or_default()
            .into_keys()
            .collect()
    };
    let settings = config_maps.get("settings").await.expect("settings");
    assert_eq!(keys(&settings), vec!["value".to_string()]);
    assert!(
        !settings
            .metadata
            .annotations
            .unwrap_or_default()
            .contains_key("kubectl.kubernetes.io/last-applied-configuration")
    );

    // A later `kubectl patch` is undone by the next reconcile.
    kubectl_ok(
        &[
            "patch",
            "-n",
            scenario.ns(),
            "configmap/settings",
            "--type=merge",
            "-p",
            r#"{"data":{"patched":"yes"}}"#,
        ],
        None,
    );
    kubectl_ok(
        &[
            "annotate",
            "--overwrite",
            "-n",
            scenario.ns(),
            "kustomization.kustomize.toolkit.fluxcd.io/apps",
            "reconcile.fluxcd.io/requestedAt=after-patch",
        ],
        None,
    );
    wait_for("the patched key removed", PATIENCE, || async {
        let settings = config_maps.get("settings").await.ok()?;
        (keys(&settings) == vec!["value".to_string()]).then_some(())
    })
    .await;
}

#[actix_rt::test]
async fn a_suspended_kustomization_applies_nothing_until_resumed() {
    let scenario = Scenario::start(
        "ks-suspend",
        &[("deploy/a.yaml", config_map("a", "1").as_str())],
    )
    .await;
    let target = scenario.ns().to_string();
    scenario.kustomization(
        "v1",
        "apps",
        json!({"path": "./deploy", "targetNamespace": target}),
    );
    let first = scenario.revision();
    scenario.wait_applied("apps", &first).await;
    scenario.kustomization(
        "v1",
        "apps",
        json!({"path": "./deploy", "targetNamespace": target, "suspend": true}),
    );
    scenario
        .repo
        .write_files(&[("deploy/a.yaml", config_map("a", "2").as_str())]);
    let second = scenario.push("while suspended");
    let sources: Api<driftless::api::git_repository::v1::GitRepository> =
        Api::namespaced(scenario.client.clone(), scenario.ns());
    wait_for("the source at the new commit", PATIENCE, || async {
        let object = sources.get("flux-system").await.ok()?;
        (object.status?.artifact?.revision == second).then_some(())
    })
    .await;
    // Nothing to wait on for "did not happen": a reconcile follows a new artifact within
    // milliseconds, so a few seconds without one is the evidence.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let object = scenario.kustomizations().get("apps").await.expect("apps");
    assert_eq!(
        object
            .status
            .and_then(|status| status.last_applied_revision),
        Some(first)
    );
    let value = |config: ConfigMap| config.data.unwrap_or_default().get("value").cloned();
    let config_maps = scenario.config_maps();
    assert_eq!(
        value(config_maps.get("a").await.expect("a")).as_deref(),
        Some("1")
    );

    scenario.kustomization(
        "v1",
        "apps",
        json!({"path": "./deploy", "targetNamespace": target, "suspend": false}),
    );
    scenario.wait_applied("apps", &second).await;
    assert_eq!(
        value(config_maps.get("a").await.expect("a")).as_deref(),
        Some("2")
    );
}

#[actix_rt::test]
async fn cross_namespace_source_refs_are_refused_when_blocked() {
    let scenario = Scenario::start_with(
        "ks-cross-namespace",
        &[("deploy/a.yaml", config_map("a", "1").as_str())],
        ControllerOptions {
            no_cross_namespace_refs: true,
            ..ControllerOptions::default()
        },
    )
    .await;
    scenario.kustomization(
        "v1",
        "elsewhere",
        json!({"path": "./deploy", "targetNamespace": scenario.ns(),
               "sourceRef": {"kind": "GitRepository", "name": "flux-system", "namespace": "flux-system"}}),
    );
    let object = scenario
        .wait_condition("elsewhere", "Stalled", "True", "AccessDenied")
        .await;
    let (_, _, message) = condition(&object, "Ready").expect("Ready");
    assert_eq!(
        message,
        "cannot access GitRepository/flux-system/flux-system, cross-namespace references have been blocked"
    );
    // Its own namespace, named explicitly, is not a cross-namespace reference.
    scenario.kustomization(
        "v1",
        "here",
        json!({"path": "./deploy", "targetNamespace": scenario.ns(),
               "sourceRef": {"kind": "GitRepository", "name": "flux-system", "namespace": scenario.ns()}}),
    );
    scenario.wait_applied("here", &scenario.revision()).await;
}

#[actix_rt::test]
async fn an_invalid_object_stops_its_stage_before_any_write() {
    let scenario = Scenario::start("ks-dry-run", &[]).await;
    let target = format!("{}-stage", scenario.ns());
    let invalid = DEPLOYMENT.replace("replicas: 3", "replicas: three");
    scenario.repo.write_files(&[
        (
            "deploy/namespace.yaml",
            format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {target}\n").as_str(),
        ),
        ("deploy/settings.yaml", config_map("settings", "1").as_str()),
        ("deploy/web.yaml", invalid.as_str()),
    ]);
    let revision = scenario.push("an invalid Deployment");
    scenario.kustomization(
        "v1",
        "apps",
        json!({"path": "./deploy", "targetNamespace": target}),
    );
    let object = scenario
        .wait_condition("apps", "Ready", "False", "ReconciliationFailed")
        .await;
    let (_, _, message) = condition(&object, "Ready").expect("Ready");
    assert!(
        message.starts_with(&format!("dry-run failed for Deployment/{target}/my-app")),
        "{message}"
    );
    let status = object.status.as_ref().expect("status");
    assert_eq!(
        status.last_attempted_revision.as_deref(),
        Some(revision.as_str())
    );
    assert_eq!(status.last_applied_revision, None);
    // The Namespace's stage went first and stays; the ConfigMap shares the Deployment's stage
    // and, though ordered before it, was never written.
    let namespaces: Api<Namespace> = Api::all(scenario.client.clone());
    assert!(namespaces.get_opt(&target).await.expect("read").is_some());
    let config_maps: Api<ConfigMap> = Api::namespaced(scenario.client.clone(), &target);
    assert!(
        config_maps
            .get_opt("settings")
            .await
            .expect("read")
            .is_none()
    );
    let _ = namespaces
        .delete(&target, &DeleteParams::background())
        .await;
}

fn replicas(deployment: &Deployment) -> Option<i32> {
    deployment.spec.as_ref().and_then(|spec| spec.replicas)
}

#[actix_rt::test]
async fn drift_after_kubectl_scale_and_kubectl_delete_is_reverted() {
    let scenario = Scenario::start(
        "ks-drift",
        &[
            ("deploy/deployment.yaml", DEPLOYMENT),
            ("deploy/settings.yaml", config_map("settings", "1").as_str()),
        ],
    )
    .await;
    let ns = scenario.ns().to_string();
    scenario.kustomization(
        "v1",
        "apps",
        json!({"path": "./deploy", "targetNamespace": ns}),
    );
    scenario.wait_applied("apps", &scenario.revision()).await;
    let deployments: Api<Deployment> = Api::namespaced(scenario.client.clone(), &ns);

    // The seed's case: a manual scale is drift, and Git's value comes back without waiting
    // for the (one hour) interval.
    kubectl_ok(
        &["scale", "-n", &ns, "deployment/my-app", "--replicas=10"],
        None,
    );
    wait_for("my-app back at 3 replicas", PATIENCE, || async {
        let deployment = deployments.get("my-app").await.ok()?;
        (replicas(&deployment) == Some(3)).then_some(())
    })
    .await;
    let corrected = wait_for("a DriftCorrected event", PATIENCE, || async {
        let found = scenario.event_messages("DriftCorrected").await;
        (!found.is_empty()).then_some(found)
    })
    .await;
    assert!(
        corrected[0].contains("Deployment/") && corrected[0].contains("spec.replicas"),
        "the event names the object and the field: {corrected:?}"
    );

    // A deleted object is drift too.
    let config_maps = scenario.config_maps();
    let before = config_maps.get("settings").await.expect("settings");
    kubectl_ok(&["delete", "-n", &ns, "configmap/settings"], None);
    let after = wait_for("settings created again", PATIENCE, || async {
        let found = config_maps.get("settings").await.ok()?;
        (found.metadata.uid != before.metadata.uid).then_some(found)
    })
    .await;
    assert_eq!(
        after
            .data
            .unwrap_or_default()
            .get("value")
            .map(String::as_str),
        Some("1")
    );

    // The corrections are counted per Kustomization and object kind.
    let metrics = String::from_utf8_lossy(
        &http_get(&format!("http://{}/metrics", scenario.controller.http_addr)).await,
    )
    .into_owned();
    for kind in ["Deployment", "ConfigMap"] {
        assert!(
            metrics
                .lines()
                .any(|line| line.starts_with("driftless_drift_corrections_total")
                    && line.contains(&format!("namespace=\"{ns}\""))
                    && line.contains(&format!("object_kind=\"{kind}\""))),
            "no drift correction counted for {kind}:\n{metrics}"
        );
    }
    // The actors and the fetches are measured too (the process's other tests add to the
    // actor gauge, so only its presence is certain).
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("driftless_actors{kind=\"Kustomization\"}")),
        "{metrics}"
    );
    assert!(
        metrics.lines().any(|line| line
            .starts_with("driftless_source_fetch_duration_seconds_count")
            && line.contains(&format!("namespace=\"{ns}\""))),
        "{metrics}"
    );

    // A field another tool owns is not drift and stays through a correction (kubectl's
    // own fields are taken over and removed, as Flux does).
    kubectl_ok(
        &[
            "annotate",
            "--field-manager=team-tool",
            "-n",
            &ns,
            "deployment/my-app",
            "team=payments",
        ],
        None,
    );
    kubectl_ok(
        &["scale", "-n", &ns, "deployment/my-app", "--replicas=7"],
        None,
    );
    let deployment = wait_for("my-app back at 3 replicas again", PATIENCE, || async {
        let deployment = deployments.get("my-app").await.ok()?;
        (replicas(&deployment) == Some(3)).then_some(deployment)
    })
    .await;
    assert_eq!(
        deployment
            .metadata
            .annotations
            .unwrap_or_default()
            .get("team")
            .map(String::as_str),
        Some("payments")
    );
}

#[actix_rt::test]
async fn drift_in_warn_mode_is_reported_and_left_alone() {
    let scenario =
        Scenario::start("ks-drift-warn", &[("deploy/deployment.yaml", DEPLOYMENT)]).await;
    let ns = scenario.ns().to_string();
    scenario.kustomization(
        "v1",
        "apps",
        json!({"path": "./deploy", "targetNamespace": ns,
               "driftDetection": {"mode": "warn"}}),
    );
    scenario.wait_applied("apps", &scenario.revision()).await;
    kubectl_ok(
        &["scale", "-n", &ns, "deployment/my-app", "--replicas=10"],
        None,
    );
    let drifted = scenario
        .wait_condition("apps", "Drifted", "True", "DriftDetected")
        .await;
    let message = condition(&drifted, "Drifted")
        .map(|found| found.2)
        .unwrap_or_default();
    assert!(
        message.contains(&format!("Deployment/{ns}/my-app")) && message.contains("spec.replicas"),
        "the condition names the object and the field: {message}"
    );
    let deployments: Api<Deployment> = Api::namespaced(scenario.client.clone(), &ns);
    let deployment = deployments.get("my-app").await.expect("my-app");
    assert_eq!(
        replicas(&deployment),
        Some(10),
        "warn mode does not correct"
    );
    assert!(!scenario.event_messages("DriftDetected").await.is_empty());

    // Put back by hand: the condition goes.
    kubectl_ok(
        &["scale", "-n", &ns, "deployment/my-app", "--replicas=3"],
        None,
    );
    let api = scenario.kustomizations();
    wait_for("Drifted removed", PATIENCE, || async {
        let object = api.get("apps").await.ok()?;
        condition(&object, "Drifted").is_none().then_some(())
    })
    .await;
}

#[actix_rt::test]
async fn an_object_fought_over_is_corrected_with_growing_holds_and_reported() {
    let scenario = Scenario::start(
        "ks-drift-fight",
        &[(
            "deploy/settings.yaml",
            config_map("settings", "git").as_str(),
        )],
    )
    .await;
    let ns = scenario.ns().to_string();
    scenario.kustomization(
        "v1",
        "apps",
        json!({"path": "./deploy", "targetNamespace": ns}),
    );
    scenario.wait_applied("apps", &scenario.revision()).await;
    let config_maps = scenario.config_maps();
    let value = |config: ConfigMap| config.data.unwrap_or_default().get("value").cloned();
    // Another writer sets its value again each time driftless restores Git's.
    let fight = json!({"data": {"value": "other"}}).to_string();
    let api = scenario.kustomizations();
    let mut drifted = None;
    for round in 0..6 {
        kubectl_ok(
            &[
                "patch",
                "-n",
                &ns,
                "configmap/settings",
                "--type=merge",
                "-p",
                &fight,
            ],
            None,
        );
        // Either driftless restores Git's value at once, or it holds back and shows the
        // object as drifted while it waits (read through the API, quick enough to see the
        // ten-second hold even on a loaded machine).
        drifted = wait_for(
            &format!("round {round} corrected or held"),
            PATIENCE,
            || async {
                let object = api.get("apps").await.ok()?;
                if let Some(found) = condition(&object, "Drifted")
                    && found.0 == "True"
                {
                    return Some(Some(found.2));
                }
                let found = config_maps.get("settings").await.ok()?;
                (value(found).as_deref() == Some("git")).then_some(None)
            },
        )
        .await;
        if drifted.is_some() {
            break;
        }
    }
    let message = drifted.expect("the fight is reported: no correction was ever held");
    assert!(
        message.contains(&format!("ConfigMap/{ns}/settings")) && message.contains("held"),
        "{message}"
    );
    let held = wait_for("a DriftCorrectionHeld event", PATIENCE, || async {
        let reported = scenario.event_messages("DriftCorrectionHeld").await;
        (!reported.is_empty()).then_some(reported)
    })
    .await;
    assert!(
        held.iter()
            .any(|message| message.contains(&format!("ConfigMap/{ns}/settings"))),
        "{held:?}"
    );
    // And the held correction still comes.
    wait_for("the held correction", PATIENCE, || async {
        let found = config_maps.get("settings").await.ok()?;
        (value(found).as_deref() == Some("git")).then_some(())
    })
    .await;
}

/// A ConfigMap with an explicit namespace.
fn config_map_in(namespace: &str, name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {namespace}\ndata:\n  value: \"1\"\n"
    )
}

#[actix_rt::test]
async fn applies_act_as_the_service_account_and_rbac_refuses_what_it_may_not() {
    let elsewhere = env().namespace("ks-tenant-elsewhere").await;
    // The objects name the scenario's namespace, known once it exists.
    let scenario = Scenario::start("ks-tenant", &[("README.md", "a tenant\n")]).await;
    let ns = scenario.ns().to_string();
    scenario.repo.write_files(&[
        ("deploy/own.yaml", config_map_in(&ns, "own").as_str()),
        (
            "deploy/elsewhere.yaml",
            config_map_in(elsewhere.name(), "intruder").as_str(),
        ),
    ]);
    scenario.push("a tenant's objects, one outside its namespace");
    // The tenant's account may do anything with ConfigMaps in its own namespace, nothing
    // elsewhere.
    for object in [
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": "deployer", "namespace": ns}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
               "metadata": {"name": "configmaps", "namespace": ns},
               "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "deployer-configmaps", "namespace": ns},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                           "name": "configmaps"},
               "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}]}),
    ] {
        scenario.apply(&object);
    }
    scenario.kustomization(
        "v1",
        "tenant",
        json!({"path": "./deploy", "serviceAccountName": "deployer"}),
    );
    let object = scenario
        .wait_condition("tenant", "Ready", "False", "ReconciliationFailed")
        .await;
    let (_, _, message) = condition(&object, "Ready").expect("Ready");
    assert!(
        message.contains("forbidden")
            && message.contains(&format!("system:serviceaccount:{ns}:deployer"))
            && message.contains(elsewhere.name()),
        "the refusal names the account and the namespace: {message}"
    );
    // The stage was refused at its dry-run: nothing of it was written.
    assert!(
        scenario
            .config_maps()
            .get_opt("own")
            .await
            .expect("read")
            .is_none()
    );
    let intruders: Api<ConfigMap> = Api::namespaced(scenario.client.clone(), elsewhere.name());
    assert!(intruders.get_opt("intruder").await.expect("read").is_none());

    // Within its rights, the tenant's commit applies (and prunes) as that account.
    scenario.repo.remove("deploy/elsewhere.yaml");
    let revision = scenario.push("only the tenant's own namespace");
    scenario.wait_applied("tenant", &revision).await;
    let own = scenario
        .config_maps()
        .get("own")
        .await
        .expect("own applied");
    let managers: Vec<String> = own
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|entry| entry.manager)
        .collect();
    assert!(managers.contains(&"driftless".to_string()), "{managers:?}");
}

#[actix_rt::test]
async fn flux_s_own_crds_are_skipped_with_a_warning_and_never_pruned() {
    // A made-up kind in Flux's source group: the real GitRepository CRD, which every test
    // needs, stays out of harm's way.
    let name = "widgets.source.toolkit.fluxcd.io";
    let crd = format!(
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {name}
spec:
  group: source.toolkit.fluxcd.io
  scope: Namespaced
  names: {{plural: widgets, singular: widget, kind: Widget}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"
    );
    let crds: Api<CustomResourceDefinition> = Api::all(env().client().await);
    let _ = crds.delete(name, &DeleteParams::background()).await;
    wait_for("no leftover Widget CRD", PATIENCE, || async {
        crds.get_opt(name).await.ok()?.is_none().then_some(())
    })
    .await;
    let scenario = Scenario::start(
        "ks-flux-crds",
        &[
            ("deploy/gotk-components.yaml", crd.as_str()),
            ("deploy/a.yaml", config_map("a", "1").as_str()),
        ],
    )
    .await;
    scenario.kustomization(
        "v1",
        "flux-system",
        json!({"path": "./deploy", "targetNamespace": scenario.ns()}),
    );
    let object = scenario
        .wait_applied("flux-system", &scenario.revision())
        .await;
    assert!(
        scenario
            .config_maps()
            .get_opt("a")
            .await
            .expect("read a")
            .is_some()
    );
    assert!(crds.get_opt(name).await.expect("read the CRD").is_none());
    assert_eq!(
        inventory_ids(&object),
        [(format!("{}_a__ConfigMap", scenario.ns()), "v1".to_string())]
    );
    let event = scenario.wait_event("FluxCRDSkipped").await;
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    let message = event.message.unwrap_or_default();
    assert!(
        message.contains(&format!("CustomResourceDefinition/{name}"))
            && message.contains("--allow-flux-crds"),
        "{message}"
    );

    // Applied by this Kustomization under --allow-flux-crds (its labels, its inventory),
    // then the flag dropped: once it leaves Git, it must stay in the cluster.
    let owned = crd.replacen(
        "metadata:\n",
        &format!(
            "metadata:\n  labels:\n    kustomize.toolkit.fluxcd.io/name: flux-system\n    kustomize.toolkit.fluxcd.io/namespace: {}\n",
            scenario.ns()
        ),
        1,
    );
    kubectl_ok(&["apply", "-f", "-"], Some(&owned));
    let mut entries = serde_json::to_value(
        object
            .status
            .as_ref()
            .and_then(|status| status.inventory.as_ref())
            .expect("an inventory"),
    )
    .expect("inventory as JSON")["entries"]
        .clone();
    if let Value::Array(list) = &mut entries {
        list.push(json!({"id": format!("_{name}_apiextensions.k8s.io_CustomResourceDefinition"), "v": "v1"}));
    }
    kubectl_ok(
        &[
            "patch",
            "-n",
            scenario.ns(),
            "kustomization.kustomize.toolkit.fluxcd.io/flux-system",
            "--subresource=status",
            "--type=merge",
            "-p",
            &json!({"status": {"inventory": {"entries": entries}}}).to_string(),
        ],
        None,
    );
    scenario.repo.remove("deploy/gotk-components.yaml");
    let revision = scenario.push("Flux's components leave Git");
    let object = scenario.wait_applied("flux-system", &revision).await;
    assert_eq!(
        inventory_ids(&object),
        [(format!("{}_a__ConfigMap", scenario.ns()), "v1".to_string())]
    );
    assert!(
        crds.get_opt(name).await.expect("read the CRD").is_some(),
        "the Flux CRD was pruned"
    );
    let _ = crds.delete(name, &DeleteParams::background()).await;
}

/// A Deployment whose Pods no node accepts: it stays Pending, never Available.
fn unschedulable(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
{spec}  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      nodeSelector:
        driftless.test/no-such-node: \"true\"
      containers:
      - name: app
        image: nginx:1.21.6
"
    )
}

#[actix_rt::test]
async fn wait_true_becomes_ready_and_healthy_once_the_deployment_and_job_finish() {
    let job = "apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: busybox:1.36
";
    let scenario = Scenario::start(
        "ks-wait",
        &[
            ("deploy/deployment.yaml", DEPLOYMENT),
            ("deploy/job.yaml", job),
            ("deploy/settings.yaml", config_map("settings", "1").as_str()),
        ],
    )
    .await;
    scenario.kustomization(
        "v1",
        "apps",
        json!({"path": "./deploy", "targetNamespace": scenario.ns(), "wait": true}),
    );
    let object = scenario.wait_applied("apps", &scenario.revision()).await;
    let (status, reason, message) = condition(&object, "Healthy").expect("Healthy");
    assert_eq!((status.as_str(), reason.as_str()), ("True", "Succeeded"));
    assert!(message.starts_with("Health check passed in "), "{message}");
    // Ready only after the rollout and the Job really finished.
    let deployments: Api<Deployment> = Api::namespaced(scenario.client.clone(), scenario.ns());
    let deployment = deployments.get("my-app").await.expect("the Deployment");
    let status = deployment.status.expect("a rollout status");
    assert_eq!(status.available_replicas, Some(3));
    let jobs: Api<k8s_openapi::api::batch::v1::Job> =
        Api::namespaced(scenario.client.clone(), scenario.ns());
    let job = jobs.get("migrate").await.expect("the Job");
    assert_eq!(job.status.and_then(|status| status.succeeded), Some(1));

    // Without health checks the Healthy condition goes, as in Flux.
    scenario
        .kustomizations()
        .patch(
            "apps",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"wait": null}})),
        )
        .await
        .expect("patch");
    let api = scenario.kustomizations();
    wait_for("the Healthy condition to go", PATIENCE, || async {
        let object = api.get("apps").await.ok()?;
        let status = object.status.as_ref()?;
        (status.observed_generation == object.metadata.generation
            && condition(&object, "Ready")?.0 == "True"
            && condition(&object, "Healthy").is_none())
        .then_some(())
    })
    .await;
}

#[actix_rt::test]
async fn a_health_check_timeout_fails_naming_the_deployment_and_a_failed_rollout_fails_early() {
    let scenario = Scenario::start(
        "ks-health-fail",
        &[
            (
                "stuck/deployment.yaml",
                unschedulable("stuck", "  replicas: 1\n").as_str(),
            ),
            (
                "doomed/deployment.yaml",
                unschedulable("doomed", "  replicas: 1\n  progressDeadlineSeconds: 1\n").as_str(),
            ),
        ],
    )
    .await;
    let revision = scenario.revision();
    // 30s is the shortest timeout Flux allows.
    scenario.kustomization(
        "v1",
        "stuck",
        json!({"path": "./stuck", "targetNamespace": scenario.ns(), "timeout": "30s",
               "healthChecks": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "stuck"}]}),
    );
    scenario.kustomization(
        "v1",
        "doomed",
        json!({"path": "./doomed", "targetNamespace": scenario.ns(), "timeout": "5m",
               "wait": true}),
    );

    let object = scenario
        .wait_condition("stuck", "Ready", "False", "HealthCheckFailed")
        .await;
    let (_, _, message) = condition(&object, "Ready").expect("Ready");
    let stuck = format!("Deployment/{}/stuck status: 'InProgress: ", scenario.ns());
    assert!(
        message.starts_with("health check failed after ")
            && message.contains("timeout waiting for: [")
            && message.contains(&stuck),
        "{message}"
    );
    let (status, reason, healthy) = condition(&object, "Healthy").expect("Healthy");
    assert_eq!(
        (status.as_str(), reason.as_str(), healthy.as_str()),
        ("False", "HealthCheckFailed", message.as_str())
    );
    // The apply happened: the object is there and in the inventory, the revision was
    // attempted, not applied.
    let status = object.status.as_ref().expect("status");
    assert_eq!(
        status.last_attempted_revision.as_deref(),
        Some(revision.as_str())
    );
    assert_eq!(status.last_applied_revision, None);
    assert_eq!(
        inventory_ids(&object),
        vec![(
            format!("{}_stuck_apps_Deployment", scenario.ns()),
            "apps/v1".to_string()
        )]
    );
    let deployments: Api<Deployment> = Api::namespaced(scenario.client.clone(), scenario.ns());
    assert!(deployments.get_opt("stuck").await.expect("read").is_some());
    // The Event follows the status write.
    let selector = "involvedObject.kind=Kustomization,involvedObject.name=stuck,type=Warning,reason=HealthCheckFailed";
    wait_for("a HealthCheckFailed Warning event", PATIENCE, || async {
        let listed = kubectl_ok(
            &[
                "get",
                "events",
                "-n",
                scenario.ns(),
                "--field-selector",
                selector,
                "-o",
                "name",
            ],
            None,
        );
        (!listed.trim().is_empty()).then_some(())
    })
    .await;

    // A rollout past its progress deadline is Failed: no waiting for the 5m timeout.
    let object = scenario
        .wait_condition("doomed", "Healthy", "False", "HealthCheckFailed")
        .await;
    let (_, _, message) = condition(&object, "Ready").expect("Ready");
    let doomed = format!(
        "Deployment/{}/doomed status: 'Failed: progress deadline exceeded",
        scenario.ns()
    );
    assert!(
        message.contains("failed early due to stalled resources: [") && message.contains(&doomed),
        "{message}"
    );
}

#[actix_rt::test]
async fn a_custom_resource_is_waited_for_until_ready_without_holding_the_only_slot() {
    let scenario = Scenario::start_with(
        "ks-health-cr",
        &[
            ("waiting/settings.yaml", config_map("waiting", "1").as_str()),
            ("other/settings.yaml", config_map("other", "1").as_str()),
        ],
        ControllerOptions {
            concurrent: 1,
            ..ControllerOptions::default()
        },
    )
    .await;
    let group = format!("{}.example.com", scenario.ns());
    let definition = format!("databases.{group}");
    scenario.apply(&json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": definition},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": "databases", "singular": "database", "kind": "Database"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object",
                                   "x-kubernetes-preserve-unknown-fields": true}}}]},
    }));
    kubectl_ok(
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            &format!("crd/{definition}"),
        ],
        None,
    );
    scenario.apply(&json!({
        "apiVersion": format!("{group}/v1"), "kind": "Database",
        "metadata": {"name": "db", "namespace": scenario.ns()},
    }));
    let set_ready = |status: &str| {
        let patch = json!({"status": {"conditions": [{"type": "Ready", "status": status,
            "reason": "Provisioning", "message": "creating the volume",
            "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
        kubectl_ok(
            &[
                "patch",
                "-n",
                scenario.ns(),
                &format!("databases.{group}/db"),
                "--subresource=status",
                "--type=merge",
                "-p",
                &patch.to_string(),
            ],
            None,
        );
    };
    set_ready("False");

    scenario.kustomization(
        "v1",
        "waiting",
        json!({"path": "./waiting", "targetNamespace": scenario.ns(), "timeout": "5m",
               "healthChecks": [{"apiVersion": format!("{group}/v1"), "kind": "Database",
                                 "name": "db"}]}),
    );
    let object = scenario
        .wait_condition("waiting", "Healthy", "Unknown", "Progressing")
        .await;
    let (_, _, message) = condition(&object, "Healthy").expect("Healthy");
    assert!(
        message.starts_with("Running health checks for revision"),
        "{message}"
    );
    // The one --concurrent slot is free while "waiting" waits.
    scenario.kustomization(
        "v1",
        "other",
        json!({"path": "./other", "targetNamespace": scenario.ns()}),
    );
    let other = scenario.wait_applied("other", &scenario.revision()).await;
    assert_eq!(condition(&other, "Healthy"), None);
    let waiting = scenario
        .kustomizations()
        .get("waiting")
        .await
        .expect("read");
    assert_eq!(
        condition(&waiting, "Healthy").map(|found| found.0),
        Some("Unknown".to_string())
    );

    set_ready("True");
    let object = scenario.wait_applied("waiting", &scenario.revision()).await;
    let (status, reason, _) = condition(&object, "Healthy").expect("Healthy");
    assert_eq!((status.as_str(), reason.as_str()), ("True", "Succeeded"));
    let crds: Api<CustomResourceDefinition> = Api::all(scenario.client.clone());
    let _ = crds.delete(&definition, &DeleteParams::background()).await;
}

#[actix_rt::test]
async fn two_kustomizations_sharing_one_source_both_follow_one_push() {
    let scenario = Scenario::start(
        "ks-shared-source",
        &[
            (
                "frontend/settings.yaml",
                config_map("frontend", "1").as_str(),
            ),
            ("backend/settings.yaml", config_map("backend", "1").as_str()),
        ],
    )
    .await;
    let ns = scenario.ns().to_string();
    for name in ["frontend", "backend"] {
        scenario.kustomization(
            "v1",
            name,
            json!({"path": format!("./{name}"), "targetNamespace": ns}),
        );
    }
    let first = scenario.revision();
    for name in ["frontend", "backend"] {
        scenario.wait_applied(name, &first).await;
    }
    scenario.repo.write_files(&[
        (
            "frontend/settings.yaml",
            config_map("frontend", "2").as_str(),
        ),
        ("backend/settings.yaml", config_map("backend", "2").as_str()),
    ]);
    let second = scenario.push("both change");
    let config_maps = scenario.config_maps();
    for name in ["frontend", "backend"] {
        scenario.wait_applied(name, &second).await;
        let found = config_maps.get(name).await.expect("applied");
        assert_eq!(
            found
                .data
                .unwrap_or_default()
                .get("value")
                .map(String::as_str),
            Some("2"),
            "{name}"
        );
    }
}

#[actix_rt::test]
async fn a_hundred_kustomizations_reconcile_in_parallel_and_all_follow_one_push() {
    const COUNT: usize = 100;
    let scenario = Scenario::start(
        "ks-hundred",
        &[
            ("app/settings.yaml", config_map("settings", "1").as_str()),
            ("app/flags.yaml", config_map("flags", "on").as_str()),
        ],
    )
    .await;
    let ns = scenario.ns().to_string();
    // One `kubectl apply` for all of them, as a user applying a generated list would.
    let items: Vec<Value> = (0..COUNT)
        .map(|index| {
            json!({
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "metadata": {"name": format!("app-{index}"), "namespace": ns},
                "spec": {"interval": "1h", "prune": true, "path": "./app",
                         "targetNamespace": ns, "namePrefix": format!("app-{index}-"),
                         "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
            })
        })
        .collect();
    scenario.apply(&json!({"apiVersion": "v1", "kind": "List", "items": items}));
    let api = scenario.kustomizations();
    let all_applied = |revision: String| {
        let api = api.clone();
        async move {
            let listed = api.list(&Default::default()).await.ok()?;
            let done = listed
                .items
                .iter()
                .filter(|object| {
                    condition(object, "Ready").is_some_and(|ready| ready.0 == "True")
                        && object
                            .status
                            .as_ref()
                            .and_then(|status| status.last_applied_revision.as_deref())
                            == Some(revision.as_str())
                })
                .count();
            (done == COUNT).then_some(())
        }
    };
    let first = scenario.revision();
    wait_for("all hundred Ready", PATIENCE * 2, || {
        all_applied(first.clone())
    })
    .await;
    let config_maps = scenario.config_maps();
    let listed = config_maps.list(&Default::default()).await.expect("list");
    let applied = listed
        .items
        .iter()
        .filter(|config| {
            config
                .metadata
                .name
                .as_deref()
                .is_some_and(|name| name.starts_with("app-"))
        })
        .count();
    assert_eq!(applied, COUNT * 2);

    scenario
        .repo
        .write_files(&[("app/settings.yaml", config_map("settings", "2").as_str())]);
    let second = scenario.push("one change for all");
    wait_for("all hundred at the new commit", PATIENCE * 2, || {
        all_applied(second.clone())
    })
    .await;
    let last = config_maps
        .get(&format!("app-{}-settings", COUNT - 1))
        .await
        .expect("the last one's ConfigMap");
    assert_eq!(
        last.data
            .unwrap_or_default()
            .get("value")
            .map(String::as_str),
        Some("2")
    );
}
