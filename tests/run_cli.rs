//! `driftless run` as a newcomer first runs it, on a machine with no cluster configured: it
//! starts a local control plane, publishes the example repository shipped in the project,
//! fetches it, and stops everything on SIGTERM.

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use driftless::api::git_repository::v1::GitRepository;
use driftless::testenv::client_from_kubeconfig;
use kube::api::Api;

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn with_no_cluster_it_starts_one_and_fetches_the_example_repository() {
    let scratch =
        Scratch(std::env::temp_dir().join(format!("driftless-run-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&scratch.0);
    std::fs::create_dir_all(&scratch.0).expect("scratch dir");
    // The cache of control-plane binaries stays where it is: only the cluster
    // configuration is taken away.
    let cache = std::env::var_os("DRIFTLESS_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME").map(|dir| PathBuf::from(dir).join("driftless"))
        })
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/driftless"))
        })
        .expect("a cache directory");
    let mut child = Command::new(env!("CARGO_BIN_EXE_driftless"))
        .args([
            "run",
            "--metrics-addr",
            "127.0.0.1:0",
            "--storage",
            "storage",
        ])
        .current_dir(&scratch.0)
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("HOME", &scratch.0)
        .env("DRIFTLESS_CACHE_DIR", &cache)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start driftless run");
    let kubeconfig = scratch.0.join("driftless-testenv.kubeconfig");
    let deadline = Instant::now() + Duration::from_secs(600);
    while !kubeconfig.exists() {
        assert!(
            child.try_wait().expect("poll").is_none(),
            "driftless run exited before the control plane was ready"
        );
        assert!(Instant::now() < deadline, "no control plane in time");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let client = client_from_kubeconfig(&kubeconfig)
        .await
        .expect("client for the printed kubeconfig");
    let sources: Api<GitRepository> = Api::namespaced(client, "flux-system");
    let repository = scratch.0.join("storage/example-repository");
    let revision = support::wait_for(
        "the example GitRepository to be Ready",
        Duration::from_secs(120),
        || async {
            let object = sources.get("flux-system").await.ok()?;
            let status = object.status?;
            let ready = status
                .conditions
                .iter()
                .any(|condition| condition.type_ == "Ready" && condition.status == "True");
            ready.then_some(status.artifact?.revision)
        },
    )
    .await;
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&repository)
        .output()
        .expect("git rev-parse");
    assert_eq!(
        revision,
        format!("main@sha1:{}", String::from_utf8_lossy(&head.stdout).trim())
    );

    // The seed's Kustomization applies the production overlay: 5 replicas.
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(sources.clone().into_client(), "default");
    support::wait_for(
        "Deployment my-app with 5 replicas",
        Duration::from_secs(120),
        || async {
            let deployment = deployments.get("my-app").await.ok()?;
            (deployment.spec?.replicas == Some(5)).then_some(())
        },
    )
    .await;

    let pid = i32::try_from(child.id()).expect("pid");
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(exit) = child.try_wait().expect("poll") {
            assert!(exit.success(), "driftless run exited with {exit}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "driftless run did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
