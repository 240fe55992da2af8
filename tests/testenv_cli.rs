//! `driftless testenv` as a user runs it: it becomes ready, writes a kubeconfig that kubectl
//! uses, stops every component on SIGTERM and cleans up, and leaves no orphan process even
//! when it is killed outright. Plus the namespace guard's failure dump.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use support::env;

const COMPONENTS: [&str; 5] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
];

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("driftless-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn start_testenv(scratch: &Path) -> (Child, PathBuf, PathBuf) {
    let state = scratch.join("state");
    let kubeconfig = scratch.join("kubeconfig");
    let child = Command::new(env!("CARGO_BIN_EXE_driftless"))
        .args(["testenv", "--nodes", "1", "--dir"])
        .arg(&state)
        .arg("--write-kubeconfig")
        .arg(&kubeconfig)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start driftless testenv");
    let deadline = Instant::now() + Duration::from_secs(600);
    while !kubeconfig.exists() {
        assert!(
            Instant::now() < deadline,
            "driftless testenv was not ready in time"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, state, kubeconfig)
}

/// Processes whose parent is `parent`, by command name.
fn children_of(parent: u32) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the command name, which is in parentheses and may hold spaces.
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let command = stat[stat.find('(').map_or(0, |open| open + 1)..close].to_string();
        let ppid = stat[close + 2..].split_whitespace().nth(1);
        if ppid.and_then(|ppid| ppid.parse::<u32>().ok()) == Some(parent) {
            found.push((pid, command));
        }
    }
    found
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        // A zombie has exited; only its parent's reaping is left.
        .is_ok_and(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid} failed");
}

fn wait_until_gone(pids: &[u32], within: Duration) {
    let deadline = Instant::now() + within;
    while pids.iter().any(|pid| alive(*pid)) {
        let left: Vec<_> = pids.iter().filter(|pid| alive(**pid)).collect();
        assert!(
            Instant::now() < deadline,
            "processes still running: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sigterm_stops_every_component_and_removes_its_state() {
    let scratch = Scratch::new("sigterm");
    let (mut child, state, kubeconfig) = start_testenv(&scratch.0);

    let nodes = Command::new(driftless::testenv::kubectl_program())
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["get", "nodes", "-o", "name"])
        .output()
        .expect("kubectl");
    assert_eq!(
        String::from_utf8_lossy(&nodes.stdout).trim(),
        "node/kwok-node-0"
    );

    let children = children_of(child.id());
    let mut names: Vec<&str> = children.iter().map(|(_, name)| name.as_str()).collect();
    names.sort();
    // /proc truncates command names to 15 characters.
    let mut expected: Vec<String> = COMPONENTS
        .iter()
        .map(|name| name.chars().take(15).collect())
        .collect();
    expected.sort();
    assert_eq!(names, expected);

    signal(child.id(), "TERM");
    let status = child.wait().expect("wait for testenv");
    assert!(status.success(), "testenv exited with {status}");
    let pids: Vec<u32> = children.iter().map(|(pid, _)| *pid).collect();
    wait_until_gone(&pids, Duration::from_secs(5));
    assert!(
        !state.exists(),
        "the state directory it created must be removed"
    );
    assert!(
        !kubeconfig.exists(),
        "the kubeconfig it wrote must be removed"
    );
}

#[test]
fn killing_driftless_leaves_no_orphan_process() {
    let scratch = Scratch::new("sigkill");
    let (mut child, _state, _kubeconfig) = start_testenv(&scratch.0);
    let pids: Vec<u32> = children_of(child.id())
        .into_iter()
        .map(|(pid, _)| pid)
        .collect();
    assert_eq!(pids.len(), COMPONENTS.len());

    signal(child.id(), "KILL");
    let _ = child.wait();
    wait_until_gone(&pids, Duration::from_secs(10));
}

#[tokio::test]
async fn namespace_guard_dump_shows_the_namespace_objects() {
    let namespace = env().namespace("dump").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(env().client().await, namespace.name());
    let evidence: ConfigMap = serde_json::from_value(
        serde_json::json!({"metadata": {"name": "evidence"}, "data": {"seen": "yes"}}),
    )
    .expect("configmap");
    config_maps
        .create(&PostParams::default(), &evidence)
        .await
        .expect("create");

    let dump = tokio::task::spawn_blocking(move || {
        let text = namespace.dump();
        (text, namespace)
    })
    .await
    .expect("dump");
    assert!(dump.0.contains("name: evidence"), "{}", dump.0);
    assert!(dump.0.contains("seen: \"yes\""), "{}", dump.0);
    assert!(dump.0.contains("===== events in namespace"), "{}", dump.0);
}
