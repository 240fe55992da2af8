//! What the rest of driftless relies on from Kubernetes, pinned against the local control
//! plane: server-side apply and its field managers, conflicts and force, `kubectl diff
//! --server-side`, kwok making workloads Available and Jobs complete, namespace deletion and
//! ownerReference garbage collection.

mod support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use support::{env, kubectl, kubectl_ok, wait_for};

const OUR_MANAGER: &str = "driftless-test";

fn deployment(namespace: &str, replicas: i32) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "my-app", "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "my-app"}},
            "template": {
                "metadata": {"labels": {"app": "my-app"}},
                "spec": {"containers": [{
                    "name": "my-app-container",
                    "image": "nginx:1.21.6",
                    "ports": [{"containerPort": 80}]
                }]}
            }
        }
    })
}

fn condition_is_true(deployment: &Deployment, kind: &str) -> bool {
    deployment
        .status
        .as_ref()
        .and_then(|status| status.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|condition| condition.type_ == kind && condition.status == "True")
        })
}

fn managers(deployment: &Deployment) -> Vec<(String, String)> {
    deployment
        .metadata
        .managed_fields
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|entry| {
            (
                entry.manager.clone().unwrap_or_default(),
                entry.operation.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn server_side_applied_deployment_becomes_available_and_tracks_managers() {
    let namespace = env().namespace("ssa").await;
    let client = env().client().await;
    let deployments: Api<Deployment> = Api::namespaced(client, namespace.name());
    let ours = PatchParams::apply(OUR_MANAGER);

    deployments
        .patch(
            "my-app",
            &ours,
            &Patch::Apply(&deployment(namespace.name(), 3)),
        )
        .await
        .expect("server-side apply");

    let available = wait_for(
        "the Deployment to become Available",
        Duration::from_secs(60),
        || {
            let deployments = deployments.clone();
            async move {
                let current = deployments.get("my-app").await.ok()?;
                let ready = current.status.as_ref()?.ready_replicas.unwrap_or(0);
                (condition_is_true(&current, "Available") && ready == 3).then_some(current)
            }
        },
    )
    .await;
    assert_eq!(
        managers(&available)[0],
        (OUR_MANAGER.to_string(), "Apply".to_string())
    );

    // A person scales by hand: kubectl becomes a second manager of spec.replicas.
    kubectl_ok(
        &[
            "scale",
            "deployment/my-app",
            "--replicas=10",
            "-n",
            namespace.name(),
        ],
        None,
    );
    let scaled = deployments.get("my-app").await.expect("get");
    assert_eq!(
        scaled.spec.as_ref().and_then(|spec| spec.replicas),
        Some(10)
    );
    let all = managers(&scaled);
    assert!(all.iter().any(|(name, _)| name == OUR_MANAGER), "{all:?}");
    assert!(
        all.iter()
            .any(|(name, operation)| name.starts_with("kubectl") && operation == "Update"),
        "kubectl's manager missing from managedFields: {all:?}"
    );

    // `kubectl diff --server-side` reports the drift from what we apply: exit status 1.
    let manifest = serde_saphyr::to_string(&deployment(namespace.name(), 3)).expect("yaml");
    let diff = kubectl(
        &[
            "diff",
            "--server-side",
            "--force-conflicts",
            &format!("--field-manager={OUR_MANAGER}"),
            "-f",
            "-",
        ],
        Some(&manifest),
    );
    let diff_text = String::from_utf8_lossy(&diff.stdout);
    assert_eq!(
        diff.status.code(),
        Some(1),
        "diff must report drift: {diff_text}\n{}",
        String::from_utf8_lossy(&diff.stderr)
    );
    assert!(diff_text.contains("-  replicas: 10"), "{diff_text}");
    assert!(diff_text.contains("+  replicas: 3"), "{diff_text}");

    // A third manager that sets replicas without force conflicts with kubectl's ownership.
    let rival = PatchParams::apply("rival-manager");
    let rival_patch = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "my-app", "namespace": namespace.name()},
        "spec": {"replicas": 2}
    });
    let conflict = deployments
        .patch("my-app", &rival, &Patch::Apply(&rival_patch))
        .await
        .expect_err("applying a field another manager owns must conflict");
    match conflict {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 409, "{status:?}");
            assert!(status.message.contains("conflict"), "{}", status.message);
            assert!(
                status.message.contains(".spec.replicas"),
                "{}",
                status.message
            );
        }
        other => panic!("expected a 409 conflict, got {other:?}"),
    }

    // With force the rival takes spec.replicas over.
    let forced = deployments
        .patch(
            "my-app",
            &rival.clone().force(),
            &Patch::Apply(&rival_patch),
        )
        .await
        .expect("forced apply");
    assert_eq!(forced.spec.as_ref().and_then(|spec| spec.replicas), Some(2));
    let owner_of_replicas: Vec<String> = forced
        .metadata
        .managed_fields
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|entry| {
            entry
                .fields_v1
                .as_ref()
                .is_some_and(|fields| fields.0.pointer("/f:spec/f:replicas").is_some())
        })
        .filter_map(|entry| entry.manager.clone())
        .collect();
    assert_eq!(owner_of_replicas, vec!["rival-manager".to_string()]);
}

#[tokio::test]
async fn kubectl_sees_both_managers_after_scale_and_a_rival_conflicts_until_forced() {
    let namespace = env().namespace("kubectl-managers").await;
    let manifest = serde_saphyr::to_string(&deployment(namespace.name(), 1)).expect("yaml");
    kubectl_ok(
        &[
            "apply",
            "--server-side",
            "--field-manager=gitops",
            "-f",
            "-",
        ],
        Some(&manifest),
    );
    kubectl_ok(
        &[
            "scale",
            "deployment/my-app",
            "--replicas=4",
            "-n",
            namespace.name(),
        ],
        None,
    );
    let fields = kubectl_ok(
        &[
            "get",
            "deployment/my-app",
            "-n",
            namespace.name(),
            "--show-managed-fields",
            "-o",
            "json",
        ],
        None,
    );
    let object: Value = serde_json::from_str(&fields).expect("json");
    let names: Vec<&str> = object["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .filter_map(|entry| entry["manager"].as_str())
        .collect();
    assert!(names.contains(&"gitops"), "{names:?}");
    assert!(
        names.iter().any(|name| name.starts_with("kubectl")),
        "{names:?}"
    );

    // A second applier that sets replicas conflicts with kubectl's ownership ...
    let rival = serde_saphyr::to_string(&json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "my-app", "namespace": namespace.name()},
        "spec": {"replicas": 2}
    }))
    .expect("yaml");
    let conflict = kubectl(
        &["apply", "--server-side", "--field-manager=rival", "-f", "-"],
        Some(&rival),
    );
    assert!(
        !conflict.status.success(),
        "a second manager's apply must conflict"
    );
    let stderr = String::from_utf8_lossy(&conflict.stderr);
    assert!(stderr.contains("conflict"), "{stderr}");
    assert!(stderr.contains(".spec.replicas"), "{stderr}");
    // ... until it forces, and then it owns the field.
    kubectl_ok(
        &[
            "apply",
            "--server-side",
            "--field-manager=rival",
            "--force-conflicts",
            "-f",
            "-",
        ],
        Some(&rival),
    );
    let replicas = kubectl_ok(
        &[
            "get",
            "deployment/my-app",
            "-n",
            namespace.name(),
            "-o",
            "jsonpath={.spec.replicas}",
        ],
        None,
    );
    assert_eq!(replicas, "2");
    kubectl_ok(
        &[
            "wait",
            "--for=condition=Available",
            "--timeout=60s",
            "deployment/my-app",
            "-n",
            namespace.name(),
        ],
        None,
    );
}

#[tokio::test]
async fn job_pods_complete_on_simulated_nodes() {
    let namespace = env().namespace("job").await;
    let jobs: Api<Job> = Api::namespaced(env().client().await, namespace.name());
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": "once"},
        "spec": {"template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "busybox", "command": ["true"]}]
        }}}
    }))
    .expect("job");
    jobs.create(&PostParams::default(), &job)
        .await
        .expect("create job");
    wait_for("the Job to complete", Duration::from_secs(90), || {
        let jobs = jobs.clone();
        async move {
            let job = jobs.get("once").await.ok()?;
            let complete = job
                .status?
                .conditions?
                .iter()
                .any(|condition| condition.type_ == "Complete" && condition.status == "True");
            complete.then_some(())
        }
    })
    .await;
}

#[tokio::test]
async fn deleting_a_namespace_deletes_its_objects() {
    let client = env().client().await;
    let namespace = env().namespace("ns-delete").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace.name());
    let config_map: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "data"}, "data": {"k": "v"}}))
            .expect("cm");
    config_maps
        .create(&PostParams::default(), &config_map)
        .await
        .expect("create");

    let namespaces: Api<Namespace> = Api::all(client);
    namespaces
        .delete(namespace.name(), &DeleteParams::default())
        .await
        .expect("delete namespace");
    wait_for("the namespace to be gone", Duration::from_secs(60), || {
        let namespaces = namespaces.clone();
        let name = namespace.name().to_string();
        async move {
            match namespaces.get_opt(&name).await {
                Ok(None) => Some(()),
                _ => None,
            }
        }
    })
    .await;
    assert!(
        config_maps
            .get_opt("data")
            .await
            .map(|found| found.is_none())
            .unwrap_or(true)
    );
}

#[tokio::test]
async fn owner_reference_garbage_collection_deletes_dependents() {
    let client = env().client().await;
    let namespace = env().namespace("gc").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace.name());
    let secrets: Api<Secret> = Api::namespaced(client, namespace.name());

    let owner: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "owner"}})).expect("owner");
    let owner = config_maps
        .create(&PostParams::default(), &owner)
        .await
        .expect("create owner");
    let uid = owner.metadata.uid.clone().expect("uid");
    let dependent: Secret = serde_json::from_value(json!({
        "metadata": {
            "name": "dependent",
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}]
        },
        "stringData": {"token": "x"}
    }))
    .expect("dependent");
    secrets
        .create(&PostParams::default(), &dependent)
        .await
        .expect("create dependent");

    config_maps
        .delete("owner", &DeleteParams::background())
        .await
        .expect("delete owner");
    wait_for(
        "the garbage collector to delete the dependent",
        Duration::from_secs(60),
        || {
            let secrets = secrets.clone();
            async move { matches!(secrets.get_opt("dependent").await, Ok(None)).then_some(()) }
        },
    )
    .await;
}
