//! Helpers shared by the integration tests, so that each test reads as a scenario: the
//! local control plane, kubectl, and waiting for conditions.
#![allow(dead_code, unused_imports)]

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub mod flux;
pub mod git;
pub mod scenario;

pub use driftless::testenv::{NamespaceGuard, TestEnv};

/// The shared control plane.
pub fn env() -> &'static TestEnv {
    TestEnv::get()
}

/// The repository's root, for fixtures and committed files.
pub fn repo_path(relative: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Runs the real kubectl against the shared control plane, optionally feeding `stdin`.
pub fn kubectl(args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::new(driftless::testenv::kubectl_program());
    command
        .arg("--kubeconfig")
        .arg(env().kubeconfig_path())
        // A discovery cache of this process's own: a cache left by an earlier control plane
        // on the same port would hide CRDs installed since.
        .arg("--cache-dir")
        .arg(std::env::temp_dir().join(format!("driftless-kubectl-cache-{}", std::process::id())))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run kubectl {args:?}: {error}"));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("kubectl stdin");
        pipe.write_all(input.as_bytes())
            .expect("write kubectl stdin");
    }
    child
        .wait_with_output()
        .unwrap_or_else(|error| panic!("kubectl {args:?} did not finish: {error}"))
}

/// Runs kubectl and returns its stdout, failing the test with stderr when it fails.
pub fn kubectl_ok(args: &[&str], stdin: Option<&str>) -> String {
    let output = kubectl(args, stdin);
    assert!(
        output.status.success(),
        "kubectl {args:?} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Removes the finalizers of every Kustomization in `namespace`: once the controller that
/// would have released them has stopped, they would hold the namespace's deletion forever.
pub fn release_kustomization_finalizers(namespace: &str) {
    let listed = kubectl(
        &["get", "kustomizations", "-n", namespace, "-o", "name"],
        None,
    );
    for name in String::from_utf8_lossy(&listed.stdout).lines() {
        let _ = kubectl(
            &[
                "patch",
                "-n",
                namespace,
                name,
                "--type=merge",
                "-p",
                r#"{"metadata":{"finalizers":null}}"#,
            ],
            None,
        );
    }
}

/// Polls `check` until it returns `Some`, failing the test after `timeout` with `what`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every field of `expected` is present in `actual` with the same value; `actual` may hold
/// more (server defaults). Returns the paths that differ.
pub fn missing_or_changed(expected: &serde_json::Value, actual: &serde_json::Value) -> Vec<String> {
    fn walk(
        path: &str,
        expected: &serde_json::Value,
        actual: &serde_json::Value,
        out: &mut Vec<String>,
    ) {
        match (expected, actual) {
            (serde_json::Value::Object(want), serde_json::Value::Object(have)) => {
                for (key, value) in want {
                    let child = format!("{path}.{key}");
                    match have.get(key) {
                        Some(found) => walk(&child, value, found, out),
                        None => out.push(format!("{child}: missing")),
                    }
                }
            }
            (serde_json::Value::Array(want), serde_json::Value::Array(have))
                if want.len() == have.len() =>
            {
                for (index, (value, found)) in want.iter().zip(have).enumerate() {
                    walk(&format!("{path}[{index}]"), value, found, out);
                }
            }
            _ if expected == actual => {}
            _ => out.push(format!("{path}: wanted {expected}, got {actual}")),
        }
    }
    let mut out = Vec::new();
    walk("", expected, actual, &mut out);
    out
}

/// GETs `url` (plain HTTP) and returns the body, failing on anything but 200.
pub async fn http_get(url: &str) -> Vec<u8> {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').expect("a path");
    let address = host.replace("localhost", "127.0.0.1");
    let path = format!("/{path}");
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&address).expect("connect");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .expect("request");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("response");
        let split = response
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .expect("headers end");
        let head = String::from_utf8_lossy(&response[..split]).to_string();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        response[split + 4..].to_vec()
    })
    .await
    .expect("HTTP GET")
}

/// Condition `kind` of a status's conditions, as (status, reason, message).
pub fn condition(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    kind: &str,
) -> Option<(String, String, String)> {
    conditions
        .iter()
        .find(|condition| condition.type_ == kind)
        .map(|condition| {
            (
                condition.status.clone(),
                condition.reason.clone(),
                condition.message.clone(),
            )
        })
}
