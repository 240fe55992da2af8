//! `deploy/` installs a working driftless: the API server accepts every manifest, the Pod
//! meets the restricted Pod Security profile, the manifests agree with each other and with
//! `driftless run`'s flags, and the RBAC they grant is enough for the controller, holding
//! only the ServiceAccount's own token, to fetch, apply, check health, impersonate a
//! tenant's account and garbage-collect.
//!
//! The control plane is shared with other test binaries, so `deploy/` is installed through
//! a kustomize overlay that gives the Namespace and the ClusterRoleBinding names of this
//! run's (kustomize moves the binding's subject along with the ServiceAccount it names, and
//! only then). The Deployment and Service are only dry-run: kwok's nodes run no containers,
//! so the controller runs in-process instead, with the Pod's credentials.

mod support;

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use driftless::api::kustomization::v1::Kustomization;
use driftless::controller::{Controller, ControllerOptions};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use serde_json::{Value, json};
use support::git::{GitDaemon, TestRepo, scratch};
use support::{NamespaceGuard, env, kubectl, kubectl_ok, repo_path, wait_for};

/// Generous: fetch, render, apply and a rollout on a loaded 2-core machine.
const PATIENCE: Duration = Duration::from_secs(120);

/// `deploy/` under a Namespace and ClusterRoleBinding name of this run's.
struct Install {
    overlay: tempfile::TempDir,
    namespace: NamespaceGuard,
    binding: String,
}

impl Install {
    async fn new() -> Self {
        env().ensure_crds().await.expect("CRDs");
        let namespace = env().namespace("driftless-system").await;
        let binding = namespace.name().to_string();
        let overlay = scratch("deploy-overlay");
        // kustomize takes a directory only by a relative path.
        let deploy = relative_path(&canonical(overlay.path()), &canonical(&repo_path("deploy")));
        let kustomization = json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": [deploy],
            "namespace": namespace.name(),
            "patches": [{
                "target": {"kind": "ClusterRoleBinding"},
                "patch": json!([{"op": "replace", "path": "/metadata/name", "value": binding}])
                    .to_string(),
            }],
        });
        std::fs::write(
            overlay.path().join("kustomization.yaml"),
            kustomization.to_string(),
        )
        .expect("write the overlay");
        Install {
            overlay,
            namespace,
            binding,
        }
    }

    fn overlay(&self) -> String {
        self.overlay.path().display().to_string()
    }

    fn ns(&self) -> &str {
        self.namespace.name()
    }

    /// Every object `kubectl apply -k` would send, in its order.
    fn objects(&self) -> Vec<Value> {
        let rendered = kubectl_ok(&["kustomize", &self.overlay()], None);
        serde_saphyr::from_str_multiple(&rendered).expect("kustomize prints YAML documents")
    }

    /// Applies, for real, the objects of the build that `keep` selects.
    fn apply_where(&self, keep: impl Fn(&Value) -> bool) {
        let items: Vec<Value> = self.objects().into_iter().filter(keep).collect();
        assert!(!items.is_empty(), "deploy/ holds nothing to apply here");
        for item in &items {
            let cluster_scoped = item["metadata"]["namespace"].is_null();
            assert!(
                !cluster_scoped || [self.ns(), self.binding.as_str()].contains(&name(item)),
                "{} {} is cluster-scoped: give it a name of this run's in Install::new",
                kind(item),
                name(item)
            );
        }
        let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
        kubectl_ok(
            &[
                "apply",
                "--server-side",
                "--field-manager=driftless-deploy-test",
                "-f",
                "-",
            ],
            Some(&list.to_string()),
        );
    }

    /// The Namespace and the ServiceAccount, without what grants the account anything.
    fn apply_namespace_and_account(&self) {
        self.apply_where(|object| matches!(kind(object), "Namespace" | "ServiceAccount"));
    }

    fn apply_rbac(&self) {
        self.apply_where(|object| {
            object["apiVersion"]
                .as_str()
                .is_some_and(|version| version.starts_with("rbac.authorization.k8s.io/"))
        });
    }

    /// The one ServiceAccount of the build: the Deployment's.
    fn service_account(&self) -> String {
        let accounts: Vec<Value> = self
            .objects()
            .into_iter()
            .filter(|object| kind(object) == "ServiceAccount")
            .collect();
        assert_eq!(accounts.len(), 1, "one ServiceAccount: {accounts:?}");
        name(&accounts[0]).to_string()
    }
}

impl Drop for Install {
    fn drop(&mut self) {
        let _ = kubectl(
            &[
                "delete",
                "clusterrolebinding",
                &self.binding,
                "--ignore-not-found",
                "--wait=false",
            ],
            None,
        );
    }
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .unwrap_or_else(|error| panic!("cannot resolve {}: {error}", path.display()))
}

/// `to` as seen from the directory `from` (both absolute).
fn relative_path(from: &Path, to: &Path) -> String {
    let ups = from
        .components()
        .filter(|component| matches!(component, Component::Normal(_)))
        .count();
    let below_root = to.strip_prefix("/").expect("an absolute path");
    format!("{}{}", "../".repeat(ups), below_root.display())
}

fn kind(object: &Value) -> &str {
    object["kind"].as_str().unwrap_or_default()
}

fn name(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap_or_default()
}

/// Where `deploy/`'s objects contradict each other or the CLI.
fn inconsistencies(objects: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    let of_kind = |wanted: &str| -> Vec<&Value> {
        objects
            .iter()
            .filter(|object| kind(object) == wanted)
            .collect()
    };
    let crds: Vec<&str> = of_kind("CustomResourceDefinition")
        .into_iter()
        .map(name)
        .collect();
    for crd in driftless::api::crd::custom_resource_definitions().expect("CRDs generate") {
        let generated = crd.metadata.name.unwrap_or_default();
        if !crds.contains(&generated.as_str()) {
            problems.push(format!(
                "deploy/kustomization.yaml does not list the CRD {generated}"
            ));
        }
    }
    let (deployments, services, accounts) = (
        of_kind("Deployment"),
        of_kind("Service"),
        of_kind("ServiceAccount"),
    );
    let ([deployment], [service], [account]) = (&deployments[..], &services[..], &accounts[..])
    else {
        return vec![format!(
            "one Deployment, Service and ServiceAccount expected: {} {} {}",
            deployments.len(),
            services.len(),
            accounts.len()
        )];
    };
    let pod = &deployment["spec"]["template"];
    if pod["spec"]["serviceAccountName"] != account["metadata"]["name"] {
        problems.push("the Pod does not run as the ServiceAccount".into());
    }
    let Some(labels) = pod["metadata"]["labels"].as_object() else {
        return vec!["the Pod has no labels".into()];
    };
    let selects_pod = |selector: &Value| {
        selector.as_object().is_some_and(|selector| {
            selector
                .iter()
                .all(|(key, value)| labels.get(key) == Some(value))
        })
    };
    if !selects_pod(&service["spec"]["selector"]) {
        problems.push("the Service does not select the Pod".into());
    }
    if !selects_pod(&deployment["spec"]["selector"]["matchLabels"]) {
        problems.push("the Deployment does not select its Pod".into());
    }
    let container = &pod["spec"]["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .map(|args| args.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match driftless::cli::Cli::try_parse_from(std::iter::once("driftless").chain(args.clone())) {
        Ok(cli) if matches!(cli.command, driftless::cli::Command::Run(_)) => {}
        Ok(_) => problems.push(format!(
            "the container does not run `driftless run`: {args:?}"
        )),
        Err(error) => problems.push(format!("`driftless {}`: {error}", args.join(" "))),
    }
    let metrics_port = args
        .iter()
        .find_map(|arg| arg.strip_prefix("--metrics-addr="))
        .and_then(|addr| addr.rsplit_once(':'))
        .and_then(|(_, port)| port.parse::<u64>().ok());
    let http = container["ports"]
        .as_array()
        .and_then(|ports| ports.iter().find(|port| port["name"] == "http"));
    match http {
        Some(port) if port["containerPort"].as_u64() == metrics_port => {}
        _ => problems.push(format!(
            "the container port `http` is not --metrics-addr's port {metrics_port:?}"
        )),
    }
    for probe in ["livenessProbe", "readinessProbe"] {
        if container[probe]["httpGet"] != json!({"path": "/healthz", "port": "http"}) {
            problems.push(format!("{probe} does not ask /healthz on `http`"));
        }
    }
    if service["spec"]["ports"][0]["targetPort"] != "http" {
        problems.push("the Service does not lead to the `http` port".into());
    }
    if service["metadata"]["annotations"]["prometheus.io/port"].as_str()
        != metrics_port.map(|port| port.to_string()).as_deref()
    {
        problems.push("prometheus.io/port is not the metrics port".into());
    }
    problems
}

#[actix_rt::test]
async fn deploy_passes_the_api_server_and_the_restricted_pod_security_profile() {
    let install = Install::new().await;
    assert_eq!(inconsistencies(&install.objects()), Vec::<String>::new());
    // The namespaced objects need their Namespace to exist, even in a dry run; its labels
    // make Pod Security judge the Deployment.
    install.apply_namespace_and_account();
    // Pod Security reads namespaces from a cache: wait until it judges this one.
    let bare_pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "probe", "namespace": install.ns()},
        "spec": {"containers": [{"name": "probe", "image": "busybox"}]}});
    wait_for(
        "Pod Security to see the namespace's labels",
        PATIENCE,
        || async {
            let output = kubectl(
                &["create", "--dry-run=server", "-f", "-"],
                Some(&bare_pod.to_string()),
            );
            String::from_utf8_lossy(&output.stderr)
                .contains("violates PodSecurity")
                .then_some(())
        },
    )
    .await;
    let output = kubectl(
        &["apply", "--dry-run=server", "-k", &install.overlay()],
        None,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "kubectl apply -k deploy/: {stderr}"
    );
    let violations: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("PodSecurity"))
        .collect();
    assert!(
        violations.is_empty(),
        "the Pod breaks the restricted profile: {violations:#?}"
    );
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
";

fn config_map(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: \"1\"\n")
}

/// A client holding only a token of `account` in `namespace`, as the controller's Pod
/// holds it: the API server and its CA come from the test environment's kubeconfig.
async fn client_as(namespace: &str, account: &str, scratch_dir: &Path) -> kube::Client {
    let token = kubectl_ok(&["create", "token", account, "-n", namespace], None);
    let admin = kube::config::Kubeconfig::read_from(env().kubeconfig_path()).expect("kubeconfig");
    let ca = admin
        .clusters
        .iter()
        .find_map(|cluster| cluster.cluster.as_ref()?.certificate_authority_data.clone())
        .expect("the test environment's CA");
    let kubeconfig = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "testenv", "cluster": {
            "server": env().server_url(), "certificate-authority-data": ca}}],
        "users": [{"name": account, "user": {"token": token.trim()}}],
        "contexts": [{"name": account, "context": {"cluster": "testenv", "user": account}}],
        "current-context": account,
    });
    let path = scratch_dir.join("kubeconfig");
    std::fs::write(&path, kubeconfig.to_string()).expect("write the kubeconfig");
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).expect("read the kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .expect("a config from the token");
    kube::Client::try_from(config).expect("a client from the token")
}

/// Releases the test's Kustomizations if it fails before the controller did.
struct ReleaseFinalizers<'a>(&'a str);

impl Drop for ReleaseFinalizers<'_> {
    fn drop(&mut self) {
        support::release_kustomization_finalizers(self.0);
    }
}

#[actix_rt::test]
async fn the_service_account_s_rbac_lets_the_controller_apply_impersonate_and_collect() {
    let install = Install::new().await;
    install.apply_namespace_and_account();
    let apps = env().namespace("deploy-apps").await;
    let ns = apps.name();
    let _release = ReleaseFinalizers(ns);
    let storage = scratch("storage");
    let client = client_as(install.ns(), &install.service_account(), storage.path()).await;

    // Without its binding the account may do nothing here: whatever the controller does
    // below, the ClusterRoleBinding granted it.
    let as_controller: Api<Kustomization> = Api::namespaced(client.clone(), ns);
    match as_controller.list(&Default::default()).await {
        Err(kube::Error::Api(status)) if status.is_forbidden() => {}
        other => panic!("the account without its binding listed Kustomizations: {other:?}"),
    }
    install.apply_rbac();
    wait_for(
        "the ClusterRoleBinding to take effect",
        PATIENCE,
        || async {
            as_controller
                .list(&Default::default())
                .await
                .ok()
                .map(|_| ())
        },
    )
    .await;

    // Watching one namespace: the control plane is shared with other test binaries.
    let _controller = Controller::start(
        client,
        ControllerOptions {
            namespace: Some(ns.to_string()),
            storage: storage.path().join("data"),
            ..ControllerOptions::default()
        },
    )
    .await
    .expect("the controller starts");
    let repo = TestRepo::new(&[
        ("apps/deployment.yaml", DEPLOYMENT),
        ("apps/settings.yaml", &config_map("settings")),
        ("tenant/settings.yaml", &config_map("tenant-settings")),
    ]);
    let daemon = GitDaemon::start(&repo.root());
    let kustomization = |name: &str, extra: Value| {
        let mut spec = json!({
            "interval": "1h", "prune": true, "wait": true, "timeout": "90s",
            "path": format!("./{name}"), "targetNamespace": ns,
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
        });
        if let (Some(spec), Value::Object(extra)) = (spec.as_object_mut(), extra) {
            spec.extend(extra);
        }
        json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
               "metadata": {"name": name, "namespace": ns}, "spec": spec})
    };
    for object in [
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": "tenant", "namespace": ns}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "tenant-edit", "namespace": ns},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                           "name": "edit"},
               "subjects": [{"kind": "ServiceAccount", "name": "tenant", "namespace": ns}]}),
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
               "metadata": {"name": "repo", "namespace": ns},
               "spec": {"url": daemon.url("repo.git"), "interval": "1h",
                        "ref": {"branch": "main"}}}),
        kustomization("apps", json!({})),
        kustomization("tenant", json!({"serviceAccountName": "tenant"})),
    ] {
        kubectl_ok(&["apply", "-f", "-"], Some(&object.to_string()));
    }

    let kustomizations: Api<Kustomization> = Api::namespaced(env().client().await, ns);
    let revision = format!("main@sha1:{}", repo.head());
    for name in ["apps", "tenant"] {
        wait_for(
            &format!("Kustomization {name} Ready at {revision}"),
            PATIENCE,
            || async {
                let object = kustomizations.get(name).await.ok()?;
                let status = object.status.as_ref()?;
                let ready = support::condition(&status.conditions, "Ready")?;
                (ready.0 == "True"
                    && status.last_applied_revision.as_deref() == Some(revision.as_str()))
                .then_some(())
            },
        )
        .await;
    }
    let config_maps: Api<ConfigMap> = Api::namespaced(env().client().await, ns);
    let deployments: Api<Deployment> = Api::namespaced(env().client().await, ns);
    let applied = (
        deployments.get_opt("web").await.expect("read").is_some(),
        config_maps
            .get_opt("settings")
            .await
            .expect("read")
            .is_some(),
        config_maps
            .get_opt("tenant-settings")
            .await
            .expect("read")
            .is_some(),
    );
    assert_eq!(
        applied,
        (true, true, true),
        "web, settings, tenant-settings"
    );

    // Deleting them collects what they applied, the tenant's as the tenant.
    kubectl_ok(
        &[
            "delete",
            "kustomizations",
            "apps",
            "tenant",
            "-n",
            ns,
            "--wait=false",
        ],
        None,
    );
    wait_for(
        "both Kustomizations collected and gone",
        PATIENCE,
        || async {
            let left = kustomizations.list(&Default::default()).await.ok()?;
            let objects = (
                deployments.get_opt("web").await.ok()?,
                config_maps.get_opt("settings").await.ok()?,
                config_maps.get_opt("tenant-settings").await.ok()?,
            );
            (left.items.is_empty() && objects == (None, None, None)).then_some(())
        },
    )
    .await;
}
