//! The source side of `driftless run`, against the local control plane and real Git
//! servers: the supervisor starts an actor per GitRepository, the actor fetches, stores and
//! serves the artifact, publishes it to subscribers and writes Flux's status.
//!
//! Each test runs its own controller, restricted to the test's namespace, inside an actix
//! system (`#[actix_rt::test]`), as `driftless run` does.

mod support;

use std::time::Duration;

use actix::prelude::*;
use driftless::api::git_repository::v1::GitRepository;
use driftless::controller::{Controller, ControllerOptions, SourceEvent, SourceKey};
use driftless::render::tree::FileTree;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use sha2_free::sha256_hex;
use support::git::{
    GitDaemon, HttpAuth, HttpGitServer, SshServer, TestPki, TestRepo, closed_port,
    known_hosts_line, scratch, ssh_key_pair,
};
use support::{env, http_get, wait_for};
use tokio::sync::mpsc;

/// Generous: a fetch on a loaded 2-core machine can take seconds.
const PATIENCE: Duration = Duration::from_secs(60);

async fn start_controller(namespace: &str, storage: &std::path::Path) -> Controller {
    start_controller_with(namespace, storage, 50 * 1024 * 1024).await
}

async fn start_controller_with(
    namespace: &str,
    storage: &std::path::Path,
    max_artifact_size: u64,
) -> Controller {
    Controller::start(
        env().client().await,
        ControllerOptions {
            namespace: Some(namespace.to_string()),
            storage: storage.to_path_buf(),
            concurrent_fetches: 2,
            http_addr: "127.0.0.1:0".parse().expect("address"),
            advertised_addr: None,
            max_artifact_size,
            field_manager: "driftless".to_string(),
            concurrent: 4,
            no_cross_namespace_refs: false,
            override_managers: Vec::new(),
            allow_flux_crds: false,
        },
    )
    .await
    .expect("controller starts")
}

fn git_repository(namespace: &str, name: &str, url: &str, spec: Value) -> GitRepository {
    let mut object = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"url": url, "interval": "1h"},
    });
    if let (Some(target), Value::Object(extra)) = (object["spec"].as_object_mut(), spec) {
        target.extend(extra);
    }
    serde_json::from_value(object).expect("GitRepository")
}

async fn create(api: &Api<GitRepository>, object: &GitRepository) {
    api.create(&PostParams::default(), object)
        .await
        .expect("create GitRepository");
}

/// The object's condition `kind`, as (status, reason, message).
fn condition(object: &GitRepository, kind: &str) -> Option<(String, String, String)> {
    support::condition(&object.status.as_ref()?.conditions, kind)
}

async fn wait_for_revision(api: &Api<GitRepository>, name: &str, revision: &str) -> GitRepository {
    wait_for(
        &format!("{name} at revision {revision}"),
        PATIENCE,
        || async {
            let object = api.get(name).await.ok()?;
            let artifact = object.status.as_ref()?.artifact.as_ref()?;
            let ready = condition(&object, "Ready")?;
            (artifact.revision == revision && ready.0 == "True").then_some(object)
        },
    )
    .await
}

async fn wait_for_condition(
    api: &Api<GitRepository>,
    name: &str,
    kind: &str,
    status: &str,
    reason: &str,
) -> String {
    wait_for(
        &format!("{name} with {kind}={status} ({reason})"),
        PATIENCE,
        || async {
            let object = api.get(name).await.ok()?;
            let (found, why, message) = condition(&object, kind)?;
            (found == status && why == reason).then_some(message)
        },
    )
    .await
}

/// A subscriber standing in for a Kustomization actor: forwards what it hears.
struct Probe(mpsc::UnboundedSender<SourceEvent>);

impl Actor for Probe {
    type Context = Context<Self>;
}

impl Handler<SourceEvent> for Probe {
    type Result = ();

    fn handle(&mut self, event: SourceEvent, _: &mut Self::Context) {
        let _ = self.0.send(event);
    }
}

async fn next_event(events: &mut mpsc::UnboundedReceiver<SourceEvent>) -> SourceEvent {
    tokio::time::timeout(PATIENCE, events.recv())
        .await
        .expect("an event within the patience")
        .expect("the probe is alive")
}

/// A Secret with `string_data`, as a user would write the credentials.
async fn create_secret(client: &kube::Client, namespace: &str, name: &str, string_data: Value) {
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": name},
        "stringData": string_data,
    }))
    .expect("Secret");
    Api::<Secret>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create Secret");
}

async fn request_reconcile(api: &Api<GitRepository>, name: &str, token: &str) {
    let patch = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("annotate requestedAt");
}

#[actix_rt::test]
async fn follows_a_branch_serves_the_tarball_and_publishes_to_subscribers() {
    env().ensure_crds().await.expect("CRDs");
    let namespace = env().namespace("source-branch").await;
    let storage = scratch("storage");
    let controller = start_controller(namespace.name(), storage.path()).await;
    let repo = TestRepo::new(&[
        ("deploy/kustomization.yaml", "resources:\n- cm.yaml\n"),
        (
            "deploy/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n",
        ),
        ("README.md", "not for the cluster\n"),
    ]);
    let daemon = GitDaemon::start(&repo.root());
    let api: Api<GitRepository> = Api::namespaced(env().client().await, namespace.name());

    // A subscriber that registers before the source exists hears that it is unavailable.
    let (sender, mut events) = mpsc::unbounded_channel();
    let probe = Probe(sender).start();
    let key = SourceKey::git_repository(namespace.name(), "apps");
    controller
        .subscriptions
        .subscribe(&key, "probe", probe.clone().recipient());
    assert!(matches!(
        next_event(&mut events).await,
        SourceEvent::SourceUnavailable { .. }
    ));

    create(
        &api,
        &git_repository(
            namespace.name(),
            "apps",
            &daemon.url("repo.git"),
            json!({"ref": {"branch": "main"}}),
        ),
    )
    .await;
    let first = repo.head();
    let object = wait_for_revision(&api, "apps", &format!("main@sha1:{first}")).await;
    let artifact = object
        .status
        .as_ref()
        .and_then(|status| status.artifact.clone())
        .expect("artifact");
    assert_eq!(
        object
            .status
            .as_ref()
            .and_then(|status| status.observed_generation),
        object.metadata.generation
    );
    assert_eq!(
        condition(&object, "ArtifactInStorage").map(|c| c.0),
        Some("True".to_string())
    );

    // The subscriber hears of the artifact and reads the files through the FileTree.
    match next_event(&mut events).await {
        SourceEvent::CommitChanged {
            revision,
            digest,
            artifact: handle,
            ..
        } => {
            assert_eq!(revision, format!("main@sha1:{first}"));
            assert_eq!(digest, artifact.digest);
            let text = handle
                .read("deploy/cm.yaml")
                .expect("read through the artifact");
            assert!(String::from_utf8_lossy(&text).contains("settings"));
        }
        other => panic!("expected CommitChanged, got {other:?}"),
    }

    // The URL in status serves the tarball whose digest status gives.
    let body = http_get(&artifact.url).await;
    assert_eq!(format!("sha256:{}", sha256_hex(&body)), artifact.digest);
    assert_eq!(Some(body.len() as i64), artifact.size);

    // A late subscriber gets the current artifact at once.
    let (late_sender, mut late_events) = mpsc::unbounded_channel();
    let late = Probe(late_sender).start();
    controller
        .subscriptions
        .subscribe(&key, "late", late.recipient());
    assert!(matches!(
        next_event(&mut late_events).await,
        SourceEvent::CommitChanged { .. }
    ));

    // A push is picked up right after requestedAt (the interval is an hour).
    repo.write_files(&[(
        "deploy/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings-v2\n",
    )]);
    let second = repo.commit("second");
    request_reconcile(&api, "apps", "first-request").await;
    let object = wait_for_revision(&api, "apps", &format!("main@sha1:{second}")).await;
    assert_eq!(
        object
            .status
            .as_ref()
            .and_then(|status| status.last_handled_reconcile_at.clone()),
        Some("first-request".to_string())
    );
    match next_event(&mut events).await {
        SourceEvent::CommitChanged { revision, .. } => {
            assert_eq!(revision, format!("main@sha1:{second}"));
        }
        other => panic!("expected CommitChanged, got {other:?}"),
    }

    // Deleting the object stops the actor, tells subscribers and removes its storage.
    api.delete("apps", &DeleteParams::default())
        .await
        .expect("delete");
    assert!(matches!(
        next_event(&mut events).await,
        SourceEvent::SourceGone { .. }
    ));
    let directory = storage
        .path()
        .join("gitrepository")
        .join(namespace.name())
        .join("apps");
    wait_for("the deleted source's storage to go", PATIENCE, || async {
        (!directory.exists()).then_some(())
    })
    .await;
    drop(controller);
}

#[actix_rt::test]
async fn semver_picks_the_highest_tag_in_range() {
    env().ensure_crds().await.expect("CRDs");
    let namespace = env().namespace("source-semver").await;
    let storage = scratch("storage");
    let _controller = start_controller(namespace.name(), storage.path()).await;
    let repo = TestRepo::new(&[("app.yaml", "version: 1.0.0\n")]);
    repo.tag("v1.0.0");
    repo.write_files(&[("app.yaml", "version: 1.5.0\n")]);
    let wanted = repo.commit("1.5.0");
    repo.tag("v1.5.0");
    repo.write_files(&[("app.yaml", "version: 2.0.0\n")]);
    repo.commit("2.0.0");
    repo.tag("v2.0.0");
    let api: Api<GitRepository> = Api::namespaced(env().client().await, namespace.name());
    create(
        &api,
        &git_repository(
            namespace.name(),
            "ranged",
            &repo.file_url(),
            json!({"ref": {"semver": ">=1.0.0 <2.0.0"}}),
        ),
    )
    .await;
    wait_for_revision(&api, "ranged", &format!("v1.5.0@sha1:{wanted}")).await;
}

#[actix_rt::test]
async fn failures_show_in_status_and_the_last_artifact_stays() {
    env().ensure_crds().await.expect("CRDs");
    let namespace = env().namespace("source-failures").await;
    let storage = scratch("storage");
    let _controller = start_controller(namespace.name(), storage.path()).await;
    let api: Api<GitRepository> = Api::namespaced(env().client().await, namespace.name());

    // Nothing listens on the port: a retryable fetch failure naming the host.
    let port = closed_port();
    create(
        &api,
        &git_repository(
            namespace.name(),
            "unreachable",
            &format!("git://127.0.0.1:{port}/repo.git"),
            json!({}),
        ),
    )
    .await;
    let message =
        wait_for_condition(&api, "unreachable", "Ready", "False", "GitOperationFailed").await;
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    wait_for_condition(
        &api,
        "unreachable",
        "FetchFailed",
        "True",
        "GitOperationFailed",
    )
    .await;

    // A Secret that does not exist is reported as such.
    let repo = TestRepo::new(&[("a.yaml", "a: 1\n")]);
    create(
        &api,
        &git_repository(
            namespace.name(),
            "no-secret",
            &repo.file_url(),
            json!({"secretRef": {"name": "missing-credentials"}}),
        ),
    )
    .await;
    let message =
        wait_for_condition(&api, "no-secret", "Ready", "False", "AuthenticationFailed").await;
    assert!(message.contains("missing-credentials"), "{message}");
    assert!(message.contains("does not exist"), "{message}");

    // A field driftless does not implement is never ignored.
    create(
        &api,
        &git_repository(
            namespace.name(),
            "verified",
            &repo.file_url(),
            json!({"verify": {"mode": "HEAD", "secretRef": {"name": "keys"}}}),
        ),
    )
    .await;
    let message = wait_for_condition(&api, "verified", "Stalled", "True", "UnsupportedField").await;
    assert!(message.contains("spec.verify"), "{message}");

    // A branch that goes missing keeps the last artifact in status and storage.
    create(
        &api,
        &git_repository(
            namespace.name(),
            "moving",
            &repo.file_url(),
            json!({"ref": {"branch": "main"}}),
        ),
    )
    .await;
    let good = wait_for_revision(&api, "moving", &format!("main@sha1:{}", repo.head())).await;
    let patch = json!({"spec": {"ref": {"branch": "gone"}}});
    api.patch("moving", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("point at a missing branch");
    let message = wait_for_condition(&api, "moving", "Ready", "False", "GitOperationFailed").await;
    assert!(message.contains("gone"), "{message}");
    let object = api.get("moving").await.expect("get");
    let kept = object
        .status
        .as_ref()
        .and_then(|status| status.artifact.clone())
        .expect("the last artifact stays in status");
    let previous = good
        .status
        .as_ref()
        .and_then(|status| status.artifact.clone())
        .expect("artifact");
    assert_eq!(kept.digest, previous.digest);
    assert_eq!(
        http_get(&kept.url).await.len() as i64,
        kept.size.unwrap_or(-1)
    );
}

#[actix_rt::test]
async fn tags_commit_pins_and_ignore_rules() {
    env().ensure_crds().await.expect("CRDs");
    let namespace = env().namespace("source-refs").await;
    let storage = scratch("storage");
    let controller = start_controller(namespace.name(), storage.path()).await;
    let repo = TestRepo::new(&[
        (
            "deploy/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
        ),
        ("docs/guide.md", "# guide\n"),
    ]);
    let first = repo.head();
    repo.tag("release-1");
    repo.write_files(&[("deploy/extra.yaml", "b: 2\n")]);
    repo.commit("later");
    let api: Api<GitRepository> = Api::namespaced(env().client().await, namespace.name());
    for (name, reference) in [
        ("tagged", json!({"tag": "release-1"})),
        ("pinned", json!({"commit": first})),
    ] {
        create(
            &api,
            &git_repository(
                namespace.name(),
                name,
                &repo.file_url(),
                json!({"ref": reference}),
            ),
        )
        .await;
    }
    wait_for_revision(&api, "tagged", &format!("release-1@sha1:{first}")).await;
    wait_for_revision(&api, "pinned", &format!("sha1:{first}")).await;
    // Two sources on one commit hold one copy of its files.
    let held = |name: &str| {
        controller
            .store
            .current(&SourceKey::git_repository(namespace.name(), name))
            .expect("stored")
    };
    assert!(std::sync::Arc::ptr_eq(
        &held("tagged").artifact,
        &held("pinned").artifact
    ));

    // spec.ignore changes the artifact without a new commit: a new digest, published.
    create(
        &api,
        &git_repository(
            namespace.name(),
            "ignoring",
            &repo.file_url(),
            json!({"ref": {"branch": "main"}, "ignore": "docs/\n"}),
        ),
    )
    .await;
    let revision = format!("main@sha1:{}", repo.head());
    let before = wait_for_revision(&api, "ignoring", &revision).await;
    let key = SourceKey::git_repository(namespace.name(), "ignoring");
    let paths: Vec<String> = controller
        .store
        .current(&key)
        .expect("stored")
        .artifact
        .paths()
        .map(str::to_string)
        .collect();
    assert_eq!(paths, ["deploy/cm.yaml", "deploy/extra.yaml"]);
    let (sender, mut events) = mpsc::unbounded_channel();
    controller
        .subscriptions
        .subscribe(&key, "probe", Probe(sender).start().recipient());
    assert!(matches!(
        next_event(&mut events).await,
        SourceEvent::CommitChanged { .. }
    ));
    let patch = json!({"spec": {"ignore": "deploy/extra.yaml\n"}});
    api.patch("ignoring", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("change spec.ignore");
    let old_digest = before
        .status
        .and_then(|status| status.artifact)
        .map(|artifact| artifact.digest)
        .expect("digest");
    match next_event(&mut events).await {
        SourceEvent::CommitChanged {
            revision: same,
            digest,
            artifact,
            ..
        } => {
            assert_eq!(same, revision);
            assert_ne!(digest, old_digest);
            assert!(artifact.read("docs/guide.md").is_ok());
            assert!(artifact.read("deploy/extra.yaml").is_err());
        }
        other => panic!("expected CommitChanged, got {other:?}"),
    }
}

#[actix_rt::test]
async fn http_basic_auth_from_the_secret_and_a_refused_password() {
    env().ensure_crds().await.expect("CRDs");
    let namespace = env().namespace("source-auth").await;
    let storage = scratch("storage");
    let _controller = start_controller(namespace.name(), storage.path()).await;
    let repo = TestRepo::new(&[("a.yaml", "a: 1\n")]);
    let server = HttpGitServer::start(
        &repo.root(),
        HttpAuth::Basic {
            username: "flux".to_string(),
            password: "right-password".to_string(),
        },
    );
    let client = env().client().await;
    for (name, password) in [("good", "right-password"), ("bad", "wrong-password-123")] {
        create_secret(
            &client,
            namespace.name(),
            name,
            json!({"username": "flux", "password": password}),
        )
        .await;
    }
    let api: Api<GitRepository> = Api::namespaced(client, namespace.name());
    for (name, secret) in [("with-good", "good"), ("with-bad", "bad")] {
        create(
            &api,
            &git_repository(
                namespace.name(),
                name,
                &server.url("repo.git"),
                json!({"ref": {"branch": "main"}, "secretRef": {"name": secret}}),
            ),
        )
        .await;
    }
    wait_for_revision(&api, "with-good", &format!("main@sha1:{}", repo.head())).await;
    let message =
        wait_for_condition(&api, "with-bad", "Ready", "False", "AuthenticationFailed").await;
    assert!(!message.contains("wrong-password-123"), "{message}");
}

#[actix_rt::test]
async fn a_server_that_goes_down_and_comes_back_and_garbage_collection() {
    env().ensure_crds().await.expect("CRDs");
    let namespace = env().namespace("source-outage").await;
    let storage = scratch("storage");
    let _controller = start_controller(namespace.name(), storage.path()).await;
    let repo = TestRepo::new(&[("a.yaml", "a: 1\n")]);
    let daemon = GitDaemon::start(&repo.root());
    let port = daemon.port();
    let api: Api<GitRepository> = Api::namespaced(env().client().await, namespace.name());
    create(
        &api,
        &git_repository(
            namespace.name(),
            "flaky",
            &daemon.url("repo.git"),
            json!({"ref": {"branch": "main"}}),
        ),
    )
    .await;
    let first = format!("main@sha1:{}", repo.head());
    wait_for_revision(&api, "flaky", &first).await;

    drop(daemon);
    request_reconcile(&api, "flaky", "while-down").await;
    wait_for_condition(&api, "flaky", "FetchFailed", "True", "GitOperationFailed").await;
    let object = api.get("flaky").await.expect("get");
    assert_eq!(
        object
            .status
            .and_then(|status| status.artifact)
            .map(|artifact| artifact.revision),
        Some(first),
        "the last artifact stays while the server is down"
    );

    // Back on the same port, with two more commits: three artifacts in all, two kept.
    let _daemon = GitDaemon::start_on(&repo.root(), port);
    for round in ["second", "third"] {
        repo.write_files(&[("a.yaml", &format!("a: {round}\n"))]);
        repo.commit(round);
        request_reconcile(&api, "flaky", round).await;
        wait_for_revision(&api, "flaky", &format!("main@sha1:{}", repo.head())).await;
    }
    let directory = storage
        .path()
        .join("gitrepository")
        .join(namespace.name())
        .join("flaky");
    let tarballs = std::fs::read_dir(&directory)
        .expect("artifact directory")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".tar.gz"))
        .count();
    assert_eq!(tarballs, 2, "only the newest two artifacts are kept");
}

#[actix_rt::test]
async fn https_with_the_secrets_ca_and_client_certificate() {
    env().ensure_crds().await.expect("CRDs");
    let namespace = env().namespace("source-tls").await;
    let storage = scratch("storage");
    let _controller = start_controller(namespace.name(), storage.path()).await;
    let repo = TestRepo::new(&[("a.yaml", "a: 1\n")]);
    let pki = TestPki::new();
    let server = HttpGitServer::start_with(
        &repo.root(),
        HttpAuth::Anonymous,
        Some(pki.server_tls(true)),
    );
    let client = env().client().await;
    let text = |pem: &[u8]| String::from_utf8_lossy(pem).into_owned();
    for (name, data) in [
        (
            "tls",
            json!({
                "ca.crt": text(&pki.ca_pem),
                "tls.crt": text(&pki.client_cert_pem),
                "tls.key": text(&pki.client_key_pem),
            }),
        ),
        ("ca-only", json!({"ca.crt": text(&pki.ca_pem)})),
    ] {
        create_secret(&client, namespace.name(), name, data).await;
    }
    let api: Api<GitRepository> = Api::namespaced(client, namespace.name());
    for (name, secret) in [("mutual", "tls"), ("no-client-cert", "ca-only")] {
        create(
            &api,
            &git_repository(
                namespace.name(),
                name,
                &server.url("repo.git"),
                json!({"ref": {"branch": "main"}, "secretRef": {"name": secret}}),
            ),
        )
        .await;
    }
    wait_for_revision(&api, "mutual", &format!("main@sha1:{}", repo.head())).await;
    wait_for_condition(
        &api,
        "no-client-cert",
        "FetchFailed",
        "True",
        "GitOperationFailed",
    )
    .await;
}

#[actix_rt::test]
async fn ssh_with_the_secrets_identity_and_known_hosts() {
    let Some(server) = SshServer::start_or_skip("ssh_with_the_secrets_identity_and_known_hosts")
    else {
        return;
    };
    env().ensure_crds().await.expect("CRDs");
    let namespace = env().namespace("source-ssh").await;
    let storage = scratch("storage");
    let _controller = start_controller(namespace.name(), storage.path()).await;
    let repo = TestRepo::new(&[("a.yaml", "a: 1\n")]);
    let client = env().client().await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace.name());
    let (_, impostor_public_key) = ssh_key_pair("impostor");
    for (name, known_hosts) in [
        ("ssh-credentials", server.known_hosts()),
        (
            "another-host-key",
            known_hosts_line(server.port(), &impostor_public_key),
        ),
    ] {
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": name},
            "stringData": {"identity": server.client_key(), "known_hosts": known_hosts},
        }))
        .expect("Secret");
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .expect("create Secret");
    }
    let api: Api<GitRepository> = Api::namespaced(client, namespace.name());
    for (name, secret) in [
        ("over-ssh", "ssh-credentials"),
        ("untrusted-host", "another-host-key"),
    ] {
        create(
            &api,
            &git_repository(
                namespace.name(),
                name,
                &server.url(&repo.bare()),
                json!({"ref": {"branch": "main"}, "secretRef": {"name": secret}}),
            ),
        )
        .await;
    }
    let message = wait_for_condition(
        &api,
        "untrusted-host",
        "Ready",
        "False",
        "GitOperationFailed",
    )
    .await;
    assert!(
        message.contains("Host key verification failed"),
        "{message}"
    );
    wait_for_revision(&api, "over-ssh", &format!("main@sha1:{}", repo.head())).await;

    repo.write_files(&[("a.yaml", "a: 2\n")]);
    let second = repo.commit("second");
    request_reconcile(&api, "over-ssh", "second").await;
    let object = wait_for_revision(&api, "over-ssh", &format!("main@sha1:{second}")).await;
    let artifact = object
        .status
        .and_then(|status| status.artifact)
        .expect("artifact");
    let tarball = http_get(&artifact.url).await;
    assert_eq!(
        format!("sha256:{}", sha256_hex(&tarball)),
        artifact.digest,
        "the served artifact is the one fetched over ssh"
    );
    assert!(
        server.log().contains("Accepted publickey for root"),
        "sshd saw the Secret's key: {}",
        server.log()
    );
}

#[actix_rt::test]
async fn an_artifact_over_the_size_limit_is_refused() {
    env().ensure_crds().await.expect("CRDs");
    let namespace = env().namespace("source-size").await;
    let storage = scratch("storage");
    let _controller = start_controller_with(namespace.name(), storage.path(), 64).await;
    let repo = TestRepo::new(&[("big.yaml", &"x: 1\n".repeat(2000))]);
    let api: Api<GitRepository> = Api::namespaced(env().client().await, namespace.name());
    create(
        &api,
        &git_repository(
            namespace.name(),
            "huge",
            &repo.file_url(),
            json!({"ref": {"branch": "main"}}),
        ),
    )
    .await;
    let message = wait_for_condition(&api, "huge", "Ready", "False", "ArtifactTooLarge").await;
    assert!(message.contains("--max-artifact-size"), "{message}");
    assert!(
        !storage
            .path()
            .join("gitrepository")
            .join(namespace.name())
            .join("huge")
            .exists()
    );
}

/// SHA-256 without a new dependency: the one the crate already links (aws-lc-rs).
mod sha2_free {
    pub fn sha256_hex(bytes: &[u8]) -> String {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
        digest
            .as_ref()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}
