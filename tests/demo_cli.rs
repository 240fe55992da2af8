//! `driftless demo` and `driftless run` as a newcomer first runs them, on a machine with no
//! cluster configured: `run` refuses and points at `demo`; `demo` starts a local control
//! plane, serves the example repository over `git://`, rolls out the seed's example 1 and
//! then example 2's commit, and stops everything, its `git daemon` included, on SIGINT.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use driftless::api::git_repository::v1::GitRepository;
use driftless::testenv::client_from_kubeconfig;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;
use support::git::scratch;

/// driftless with no cluster configured: `HOME` is the scratch directory and `KUBECONFIG`
/// names nothing. The cache of control-plane binaries stays where it is.
fn driftless_without_cluster(scratch: &Path, args: &[&str]) -> Command {
    let cache = std::env::var_os("DRIFTLESS_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME").map(|dir| PathBuf::from(dir).join("driftless"))
        })
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/driftless"))
        })
        .expect("a cache directory");
    let mut command = Command::new(env!("CARGO_BIN_EXE_driftless"));
    command
        .args(args)
        .current_dir(scratch)
        .env("KUBECONFIG", scratch.join("no-such-kubeconfig"))
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("HOME", scratch)
        .env("DRIFTLESS_CACHE_DIR", &cache)
        .stdin(Stdio::null());
    command
}

#[test]
fn run_without_a_cluster_fails_and_points_at_the_demo() {
    let scratch = scratch("run");
    let output =
        driftless_without_cluster(scratch.path(), &["run", "--metrics-addr", "127.0.0.1:0"])
            .output()
            .expect("driftless run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "driftless run succeeded: {stderr}"
    );
    assert!(
        stderr.contains("no cluster configured") && stderr.contains("`driftless demo`"),
        "{stderr}"
    );
}

/// The demo's standard output, line by line, echoed to the test's output.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("demo| {line}");
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Reads lines until one starts with `prefix`; returns the rest of it.
fn wait_for_line(lines: &mpsc::Receiver<String>, prefix: &str, timeout: Duration) -> String {
    read_until(lines, prefix, timeout).0
}

/// Reads lines until one starts with `prefix`; returns the rest of it and the lines before.
fn read_until(
    lines: &mpsc::Receiver<String>,
    prefix: &str,
    timeout: Duration,
) -> (String, Vec<String>) {
    let deadline = Instant::now() + timeout;
    let mut before = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => match line.strip_prefix(prefix) {
                Some(rest) => return (rest.trim().to_string(), before),
                None => before.push(line),
            },
            Err(error) => panic!("no line starting with {prefix:?}: {error}"),
        }
    }
}

/// Processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " "))
        .filter(|line| line.contains(needle))
        .collect()
}

/// A running `driftless demo` in a scratch directory, and a client for the cluster it
/// printed.
struct Demo {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// What it printed before the kubeconfig's path.
    printed: Vec<String>,
    kubeconfig: PathBuf,
    client: kube::Client,
}

impl Demo {
    async fn start(scratch: &Path, env: &[(&str, &Path)]) -> Self {
        let mut command = driftless_without_cluster(
            scratch,
            &[
                "demo",
                "--metrics-addr",
                "127.0.0.1:0",
                "--storage",
                "storage",
            ],
        );
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start driftless demo");
        let lines = lines_of(&mut child);
        // Minutes when the control plane has to be built first.
        let (kubeconfig, printed) = read_until(&lines, "kubeconfig:", Duration::from_secs(900));
        let kubeconfig = PathBuf::from(kubeconfig);
        assert!(
            kubeconfig.starts_with(scratch) && kubeconfig.ends_with("driftless-testenv.kubeconfig"),
            "{}",
            kubeconfig.display()
        );
        let client = client_from_kubeconfig(&kubeconfig)
            .await
            .expect("client for the printed kubeconfig");
        Self {
            child,
            lines,
            printed,
            kubeconfig,
            client,
        }
    }

    /// The URL the demo's GitRepository fetches.
    async fn source_url(&self) -> String {
        let sources: Api<GitRepository> = Api::namespaced(self.client.clone(), "flux-system");
        sources
            .get("flux-system")
            .await
            .expect("the GitRepository")
            .spec
            .url
    }

    fn deployments(&self) -> Api<Deployment> {
        Api::namespaced(self.client.clone(), "default")
    }

    async fn wait_for_replicas(&self, replicas: i32) {
        let deployments = self.deployments();
        support::wait_for(
            &format!("Deployment my-app with {replicas} replicas"),
            Duration::from_secs(180),
            || async {
                let deployment = deployments.get("my-app").await.ok()?;
                (deployment.spec?.replicas == Some(replicas)).then_some(())
            },
        )
        .await;
    }

    /// Sends SIGINT and waits for a clean exit.
    async fn interrupt(mut self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(exit) = self.child.try_wait().expect("poll") {
                assert!(exit.success(), "driftless demo exited with {exit}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "driftless demo did not stop on SIGINT"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            !self.kubeconfig.exists(),
            "the control plane's kubeconfig is left"
        );
    }
}

#[tokio::test]
async fn the_demo_rolls_out_both_seed_examples_from_a_git_daemon_and_stops_cleanly() {
    let scratch = scratch("demo");
    let demo = Demo::start(scratch.path(), &[]).await;
    let metrics = wait_for_line(&demo.lines, "metrics:", Duration::from_secs(60));
    assert!(metrics.starts_with("http://127.0.0.1:"), "{metrics}");
    let url = demo.source_url().await;
    assert!(url.starts_with("git://127.0.0.1:"), "{url}");

    // Example 1 first (3 replicas), then example 2's overlay (5). The deployment
    // controller's Events record every scale, however quickly the second commit follows.
    demo.wait_for_replicas(5).await;
    let events: Api<Event> = Api::namespaced(demo.client.clone(), "default");
    let scaled = support::wait_for(
        "the scaling Events of my-app",
        Duration::from_secs(60),
        || async {
            let list = events
                .list(&ListParams::default().fields("involvedObject.name=my-app"))
                .await
                .ok()?;
            let messages: Vec<String> = list
                .items
                .into_iter()
                .filter(|event| event.reason.as_deref() == Some("ScalingReplicaSet"))
                .filter_map(|event| event.message)
                .collect();
            messages
                .iter()
                .any(|message| message.ends_with("from 3 to 5"))
                .then_some(messages)
        },
    )
    .await;
    assert!(
        scaled
            .iter()
            .any(|message| message.ends_with("from 0 to 3")),
        "{scaled:?}"
    );
    wait_for_line(&demo.lines, "commit 2 pushed", Duration::from_secs(10));
    wait_for_line(&demo.lines, "commit 2 applied", Duration::from_secs(60));
    wait_for_line(
        &demo.lines,
        "commit 2 rolled out: 5/5 ready",
        Duration::from_secs(90),
    );

    // What the demo suggests trying: a scale by hand is drift, undone at once (the
    // Kustomization's interval is ten minutes, and nothing asks for a reconcile).
    demo.deployments()
        .patch_scale(
            "my-app",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 10}})),
        )
        .await
        .expect("scale my-app to 10");
    let deployments = demo.deployments();
    support::wait_for(
        "my-app back at 5 replicas",
        Duration::from_secs(60),
        || async {
            let deployment = deployments.get("my-app").await.ok()?;
            (deployment.spec?.replicas == Some(5) && deployment.metadata.generation > Some(2))
                .then_some(())
        },
    )
    .await;

    let daemon = scratch
        .path()
        .join("storage/demo-git")
        .display()
        .to_string();
    assert!(
        processes_mentioning(&daemon)
            .iter()
            .any(|line| line.contains("git-daemon")),
        "no git daemon serves {daemon}"
    );
    demo.interrupt().await;
    assert_eq!(processes_mentioning(&daemon), Vec::<String>::new());
}

#[tokio::test]
async fn without_git_daemon_the_demo_reads_the_repository_through_file_urls() {
    let scratch = scratch("demo-no-daemon");
    // git's programs are looked up here: no `git-daemon`, while the built-in commands the
    // demo commits with still work.
    let empty = scratch.path().join("no-git-programs");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let demo = Demo::start(scratch.path(), &[("GIT_EXEC_PATH", empty.as_path())]).await;
    let url = demo.source_url().await;
    assert!(url.starts_with("file://"), "{url}");
    assert!(
        demo.printed
            .iter()
            .any(|line| line.starts_with("git daemon could not start") && line.ends_with(&url)),
        "{:?}",
        demo.printed
    );
    demo.wait_for_replicas(5).await;
    demo.interrupt().await;
}
