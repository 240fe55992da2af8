//! [`TestEnv`]: one control plane shared by every test of a test binary.
//!
//! It is started lazily on first use, or not at all when `DRIFTLESS_TEST_KUBECONFIG` names
//! one that is already running (`.ci/run` starts one for the whole run). Whoever starts a
//! control plane stops it: a control plane started here dies with the test binary, because
//! its components are tied to this process (see `process`), and its temporary directory is
//! swept by the next start.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};

use super::TestEnvError;
use super::control_plane::{
    ControlPlane, ControlPlaneOptions, client_from_kubeconfig, config_from_kubeconfig,
};

/// The environment variable naming the kubeconfig of a control plane to reuse.
pub const TEST_KUBECONFIG_ENV: &str = "DRIFTLESS_TEST_KUBECONFIG";

/// A control plane for tests.
#[derive(Debug)]
pub struct TestEnv {
    kubeconfig: PathBuf,
    server_url: String,
    /// The control plane this process started, if it started one.
    _owned: Option<Mutex<ControlPlane>>,
    crds_installed: tokio::sync::OnceCell<()>,
}

static SHARED: OnceLock<Result<TestEnv, String>> = OnceLock::new();

impl TestEnv {
    /// The control plane shared by this test binary, started on first call.
    ///
    /// Panics with the start-up error: tests cannot do anything useful without it, and the
    /// message (a build failure, a component's log) is what the developer needs to see.
    pub fn get() -> &'static TestEnv {
        match SHARED.get_or_init(|| Self::start_or_reuse().map_err(|error| error.to_string())) {
            Ok(env) => env,
            Err(message) => panic!("the local control plane is not available: {message}"),
        }
    }

    fn start_or_reuse() -> Result<TestEnv, TestEnvError> {
        if let Some(path) = std::env::var_os(TEST_KUBECONFIG_ENV) {
            let kubeconfig = PathBuf::from(path);
            let server_url = server_of(&kubeconfig)?;
            return Ok(TestEnv {
                kubeconfig,
                server_url,
                _owned: None,
                crds_installed: tokio::sync::OnceCell::new(),
            });
        }
        // Start-up blocks and runs its own runtime, so it gets a thread of its own: the
        // caller is usually inside a `#[tokio::test]` runtime.
        let plane = std::thread::spawn(|| ControlPlane::start(ControlPlaneOptions::default()))
            .join()
            .map_err(|_| TestEnvError::StartPanicked)??;
        eprintln!(
            "testenv: control plane at {} ready in {:.1?} (kubeconfig {})",
            plane.server_url(),
            plane.startup_time(),
            plane.kubeconfig_path().display()
        );
        Ok(TestEnv {
            kubeconfig: plane.kubeconfig_path().to_path_buf(),
            server_url: plane.server_url().to_string(),
            _owned: Some(Mutex::new(plane)),
            crds_installed: tokio::sync::OnceCell::new(),
        })
    }

    /// The admin kubeconfig, for kubectl and for `driftless run` started by tests.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The API server's URL.
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// A new client bound to the calling runtime (a client dies with the runtime that made
    /// it, and every `#[tokio::test]` has its own).
    pub async fn client(&self) -> kube::Client {
        match client_from_kubeconfig(&self.kubeconfig).await {
            Ok(client) => client,
            Err(error) => panic!("cannot build a client for the local control plane: {error}"),
        }
    }

    /// The client configuration of the control plane, for components that make clients
    /// of their own (the controller's arbiters).
    pub async fn config(&self) -> kube::Config {
        match config_from_kubeconfig(&self.kubeconfig).await {
            Ok(config) => config,
            Err(error) => panic!("cannot read the local control plane's kubeconfig: {error}"),
        }
    }

    /// Installs driftless's CustomResourceDefinitions once per test binary and waits until
    /// they are served.
    pub async fn ensure_crds(&self) -> Result<(), TestEnvError> {
        self.crds_installed
            .get_or_try_init(|| async {
                let client = client_from_kubeconfig(&self.kubeconfig).await?;
                install_crds(&client).await
            })
            .await
            .map(|_| ())
    }

    /// Creates a namespace named `<prefix>-<random>` for one test.
    pub async fn namespace(&self, prefix: &str) -> NamespaceGuard {
        let suffix = super::pki::random_token().map_or_else(|_| "0".into(), |t| t[..8].to_string());
        let mut prefix: String = prefix
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .take(50)
            .collect();
        prefix = prefix.trim_matches('-').to_string();
        let name = format!("{prefix}-{suffix}");
        let namespaces: Api<Namespace> = Api::all(self.client().await);
        let namespace: Namespace = match serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": {"driftless.dev/test": "true"}}
        })) {
            Ok(namespace) => namespace,
            Err(error) => panic!("namespace object: {error}"),
        };
        if let Err(error) = namespaces.create(&PostParams::default(), &namespace).await {
            panic!("cannot create test namespace {name}: {error}");
        }
        NamespaceGuard {
            name,
            kubeconfig: self.kubeconfig.clone(),
        }
    }
}

/// The server URL of the current context of a kubeconfig file.
fn server_of(kubeconfig: &Path) -> Result<String, TestEnvError> {
    let config = kube::config::Kubeconfig::read_from(kubeconfig)
        .map_err(|error| TestEnvError::Kubeconfig(format!("{}: {error}", kubeconfig.display())))?;
    let context_name = config.current_context.clone().unwrap_or_default();
    let cluster_name = config
        .contexts
        .iter()
        .find(|context| context.name == context_name)
        .and_then(|context| context.context.as_ref())
        .map(|context| context.cluster.clone());
    config
        .clusters
        .iter()
        .find(|cluster| Some(&cluster.name) == cluster_name.as_ref())
        .and_then(|cluster| cluster.cluster.as_ref())
        .and_then(|cluster| cluster.server.clone())
        .ok_or_else(|| {
            TestEnvError::Kubeconfig(format!(
                "{}: the current context names no cluster server",
                kubeconfig.display()
            ))
        })
}

/// Applies every CRD server-side and waits until each is Established.
pub async fn install_crds(client: &kube::Client) -> Result<(), TestEnvError> {
    let crds = crate::api::crd::custom_resource_definitions()
        .map_err(|error| TestEnvError::Crds(error.to_string()))?;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let params = PatchParams::apply("driftless-testenv").force();
    for crd in &crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        api.patch(&name, &params, &Patch::Apply(crd))
            .await
            .map_err(|error| TestEnvError::Crds(format!("{name}: {error}")))?;
    }
    for crd in &crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let established = kube::runtime::wait::await_condition(
            api.clone(),
            &name,
            kube::runtime::wait::conditions::is_crd_established(),
        );
        tokio::time::timeout(std::time::Duration::from_secs(30), established)
            .await
            .map_err(|_| TestEnvError::Crds(format!("{name} was not Established within 30s")))?
            .map_err(|error| TestEnvError::Crds(format!("{name}: {error}")))?;
    }
    Ok(())
}

/// The `kubectl` to run: `$KUBECTL`, else the one on `PATH`.
pub fn kubectl_program() -> PathBuf {
    std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("kubectl"))
}

/// A test's namespace. When the test fails (the guard drops while panicking) it prints the
/// namespace's objects and events; then it deletes the namespace unless
/// `DRIFTLESS_KEEP_NAMESPACES` is set.
#[derive(Debug)]
pub struct NamespaceGuard {
    name: String,
    kubeconfig: PathBuf,
}

impl NamespaceGuard {
    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn kubectl(&self) -> Command {
        let mut command = Command::new(kubectl_program());
        command.arg("--kubeconfig").arg(&self.kubeconfig);
        command
    }

    /// The namespace's objects (as YAML) and events, as kubectl prints them: what a
    /// developer needs to see when a test fails.
    pub fn dump(&self) -> String {
        let kinds = match self
            .kubectl()
            .args([
                "api-resources",
                "--verbs=list",
                "--namespaced",
                "-o",
                "name",
            ])
            .output()
        {
            Ok(output) => String::from_utf8_lossy(&output.stdout)
                .lines()
                .filter(|kind| !kind.starts_with("events"))
                .collect::<Vec<_>>()
                .join(","),
            Err(error) => {
                return format!(
                    "cannot run kubectl to dump namespace {}: {error}",
                    self.name
                );
            }
        };
        let mut text = format!("===== objects in namespace {} =====\n", self.name);
        let sections: [(&str, Vec<&str>); 2] = [
            (
                "objects",
                vec![
                    "get",
                    &kinds,
                    "-n",
                    &self.name,
                    "-o",
                    "yaml",
                    "--ignore-not-found",
                ],
            ),
            (
                "events",
                vec![
                    "get",
                    "events",
                    "-n",
                    &self.name,
                    "--sort-by=.lastTimestamp",
                ],
            ),
        ];
        for (title, args) in sections {
            if title == "events" {
                text.push_str(&format!("===== events in namespace {} =====\n", self.name));
            }
            match self.kubectl().args(&args).output() {
                Ok(output) => {
                    text.push_str(&String::from_utf8_lossy(&output.stdout));
                    text.push_str(&String::from_utf8_lossy(&output.stderr));
                }
                Err(error) => text.push_str(&format!("cannot run kubectl: {error}\n")),
            }
        }
        text
    }
}

impl Drop for NamespaceGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.dump());
        }
        if std::env::var_os("DRIFTLESS_KEEP_NAMESPACES").is_some() {
            return;
        }
        let _ = self
            .kubectl()
            .args([
                "delete",
                "namespace",
                &self.name,
                "--wait=false",
                "--ignore-not-found",
            ])
            .output();
    }
}
