//! The Flux API as the real API server serves it from `deploy/crds/`: what users write is
//! accepted, read back unchanged through the version they wrote, and invalid objects are
//! refused with the schema's message. Through both kubectl and the kube crate.

mod support;

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};
use support::{env, kubectl, kubectl_ok, missing_or_changed, repo_path};

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

fn kustomization_resource(version: &str) -> ApiResource {
    resource(
        "kustomize.toolkit.fluxcd.io",
        version,
        "Kustomization",
        "kustomizations",
    )
}

fn git_repository_resource(version: &str) -> ApiResource {
    resource(
        "source.toolkit.fluxcd.io",
        version,
        "GitRepository",
        "gitrepositories",
    )
}

/// The seed's Kustomization, as `../shared/seed/examples.md` gives it, in `namespace`.
fn seed_kustomization(namespace: &str) -> Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1beta2",
        "kind": "Kustomization",
        "metadata": {"name": "my-app-deployment", "namespace": namespace},
        "spec": {
            "interval": "10m",
            "path": "./apps/my-app/overlays/production",
            "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
            "validation": "client"
        }
    })
}

fn to_yaml(value: &Value) -> String {
    serde_saphyr::to_string(value).expect("yaml")
}

#[tokio::test]
async fn committed_crds_apply_server_side_with_kubectl() {
    let _ = env();
    let crds = repo_path("deploy/crds");
    let output = kubectl_ok(
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            crds.to_str().expect("utf-8 path"),
        ],
        None,
    );
    assert!(
        output.contains("kustomizations.kustomize.toolkit.fluxcd.io"),
        "{output}"
    );
    assert!(
        output.contains("gitrepositories.source.toolkit.fluxcd.io"),
        "{output}"
    );
    for crd in [
        "kustomizations.kustomize.toolkit.fluxcd.io",
        "gitrepositories.source.toolkit.fluxcd.io",
    ] {
        kubectl_ok(
            &[
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                "crd",
                crd,
            ],
            None,
        );
        let served = kubectl_ok(
            &[
                "get",
                "crd",
                crd,
                "-o",
                "jsonpath={range .spec.versions[*]}{.name}={.served}/{.storage} {end}",
            ],
            None,
        );
        assert_eq!(served.trim(), "v1=true/true v1beta2=true/false", "{crd}");
    }
}

#[tokio::test]
async fn seed_v1beta2_kustomization_reads_back_unchanged_with_kubectl() {
    env().ensure_crds().await.expect("crds");
    let namespace = env().namespace("seed-kubectl").await;
    let seed = seed_kustomization(namespace.name());
    let applied = kubectl_ok(
        &["apply", "--server-side", "-f", "-"],
        Some(&to_yaml(&seed)),
    );
    assert!(applied.contains("serverside-applied"), "{applied}");

    let read = kubectl_ok(
        &[
            "get",
            "kustomizations.v1beta2.kustomize.toolkit.fluxcd.io",
            "my-app-deployment",
            "-n",
            namespace.name(),
            "-o",
            "json",
        ],
        None,
    );
    let read: Value = serde_json::from_str(&read).expect("json");
    assert_eq!(read["apiVersion"], "kustomize.toolkit.fluxcd.io/v1beta2");
    let differences = missing_or_changed(&seed["spec"], &read["spec"]);
    assert!(
        differences.is_empty(),
        "fields lost or changed: {differences:?}"
    );
}

#[tokio::test]
async fn seed_v1beta2_kustomization_reads_back_unchanged_with_kube() {
    env().ensure_crds().await.expect("crds");
    let namespace = env().namespace("seed-kube").await;
    let client = env().client().await;
    let v1beta2 = kustomization_resource("v1beta2");
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace.name(), &v1beta2);
    let seed = seed_kustomization(namespace.name());
    api.patch(
        "my-app-deployment",
        &PatchParams::apply("driftless-test"),
        &Patch::Apply(&seed),
    )
    .await
    .expect("the seed is accepted");

    let read = api.get("my-app-deployment").await.expect("read back");
    let differences = missing_or_changed(&seed["spec"], &read.data["spec"]);
    assert!(
        differences.is_empty(),
        "fields lost or changed through v1beta2: {differences:?}"
    );

    // v1 is the stored version: the deprecated fields survive storage instead of being pruned.
    let v1: Api<DynamicObject> =
        Api::namespaced_with(client, namespace.name(), &kustomization_resource("v1"));
    let stored = v1.get("my-app-deployment").await.expect("read through v1");
    assert_eq!(stored.data["spec"]["validation"], "client");
    assert_eq!(stored.data["spec"]["prune"], true);
}

#[tokio::test]
async fn v1_kustomization_with_every_common_field_reads_back_unchanged() {
    env().ensure_crds().await.expect("crds");
    let namespace = env().namespace("v1-ks").await;
    let kustomization = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": namespace.name()},
        "spec": {
            "interval": "5m",
            "retryInterval": "1m",
            "timeout": "3m",
            "path": "./apps",
            "prune": true,
            "wait": true,
            "force": false,
            "suspend": false,
            "targetNamespace": "apps",
            "namePrefix": "prod-",
            "sourceRef": {"kind": "GitRepository", "name": "flux-system", "namespace": "flux-system"},
            "dependsOn": [{"name": "infra"}],
            "commonMetadata": {"labels": {"team": "a"}, "annotations": {"owner": "b"}},
            "images": [{"name": "nginx", "newTag": "1.27"}],
            "patches": [{
                "patch": "- op: replace\n  path: /spec/replicas\n  value: 2\n",
                "target": {"kind": "Deployment", "name": "web"}
            }],
            "postBuild": {
                "substitute": {"cluster": "prod"},
                "substituteFrom": [{"kind": "ConfigMap", "name": "vars", "optional": true}]
            },
            "healthChecks": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": "apps"}],
            "driftDetection": {"mode": "warn"}
        }
    });
    kubectl_ok(
        &["apply", "--server-side", "-f", "-"],
        Some(&to_yaml(&kustomization)),
    );
    let read = kubectl_ok(
        &[
            "get",
            "kustomizations.v1.kustomize.toolkit.fluxcd.io",
            "apps",
            "-n",
            namespace.name(),
            "-o",
            "json",
        ],
        None,
    );
    let read: Value = serde_json::from_str(&read).expect("json");
    let differences = missing_or_changed(&kustomization["spec"], &read["spec"]);
    assert!(
        differences.is_empty(),
        "fields lost or changed: {differences:?}"
    );
}

#[tokio::test]
async fn gitrepository_with_scp_style_url_is_refused_with_the_schema_message() {
    env().ensure_crds().await.expect("crds");
    let namespace = env().namespace("bad-gitrepo").await;
    let invalid = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "scp", "namespace": namespace.name()},
        "spec": {"url": "git@github.com:org/repo.git", "interval": "1m"}
    });

    let output = kubectl(
        &["apply", "--server-side", "-f", "-"],
        Some(&to_yaml(&invalid)),
    );
    assert!(!output.status.success(), "an scp-style URL must be refused");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("spec.url"), "{stderr}");
    assert!(stderr.contains("should match"), "{stderr}");

    let client = env().client().await;
    let api: Api<DynamicObject> =
        Api::namespaced_with(client, namespace.name(), &git_repository_resource("v1"));
    let error = api
        .patch(
            "scp",
            &PatchParams::apply("driftless-test"),
            &Patch::Apply(&invalid),
        )
        .await
        .expect_err("an scp-style URL must be refused");
    match error {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 422, "{status:?}");
            assert!(status.message.contains("spec.url"), "{}", status.message);
        }
        other => panic!("expected a 422 from the API server, got {other:?}"),
    }
}

#[tokio::test]
async fn gitrepository_accepts_git_and_file_urls_in_v1_and_v1beta2() {
    env().ensure_crds().await.expect("crds");
    let namespace = env().namespace("gitrepo-urls").await;
    let client = env().client().await;
    for (version, name, url) in [
        ("v1", "daemon", "git://127.0.0.1:9418/repo.git"),
        ("v1", "local", "file:///srv/git/repo.git"),
        (
            "v1beta2",
            "bootstrapped",
            "ssh://git@github.com/org/fleet.git",
        ),
    ] {
        let api: Api<DynamicObject> = Api::namespaced_with(
            client.clone(),
            namespace.name(),
            &git_repository_resource(version),
        );
        let object = json!({
            "apiVersion": format!("source.toolkit.fluxcd.io/{version}"),
            "kind": "GitRepository",
            "metadata": {"name": name},
            "spec": {"url": url, "interval": "1m", "ref": {"branch": "main"}}
        });
        api.patch(
            name,
            &PatchParams::apply("driftless-test"),
            &Patch::Apply(&object),
        )
        .await
        .unwrap_or_else(|error| panic!("{version} {url} refused: {error}"));
        let read = api.get(name).await.expect("read back");
        let differences = missing_or_changed(&object["spec"], &read.data["spec"]);
        assert!(differences.is_empty(), "{version} {url}: {differences:?}");
        // Flux's default for the git operation timeout.
        assert_eq!(read.data["spec"]["timeout"], "60s", "{version}");
    }
}
