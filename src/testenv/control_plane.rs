//! Starts and stops one local control plane: etcd, kube-apiserver, kube-controller-manager,
//! kube-scheduler and kwok, with N simulated nodes.

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, ServiceAccount};
use kube::api::{Api, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

use super::TestEnvError;
use super::binaries::{self, Binaries};
use super::pki::{self, Pki};
use super::process::{ManagedProcess, resident_bytes};

/// Annotation kwok selects the nodes it manages by.
const KWOK_NODE_ANNOTATION: &str = "kwok.x-k8s.io/node";
/// Field manager for the objects testenv itself writes.
const FIELD_MANAGER: &str = "driftless-testenv";
/// How long the control plane may take to become ready once its binaries exist.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// Client rate limits for controller-manager and scheduler, far above the defaults (20/30),
/// so that they keep up when benchmarks create thousands of objects.
const COMPONENT_QPS: u32 = 1000;
const COMPONENT_BURST: u32 = 2000;

/// How to start a control plane.
#[derive(Debug, Clone)]
pub struct ControlPlaneOptions {
    /// Where state (etcd data, certificates, logs) lives; a fresh temporary directory if unset.
    pub dir: Option<PathBuf>,
    /// Number of kwok-managed nodes to create.
    pub nodes: usize,
    /// Where to write the admin kubeconfig besides `DIR/kubeconfig`.
    pub kubeconfig: Option<PathBuf>,
}

impl Default for ControlPlaneOptions {
    fn default() -> Self {
        Self {
            dir: None,
            nodes: 3,
            kubeconfig: None,
        }
    }
}

/// A running control plane. Stopping it (or dropping it) stops every component and removes
/// the state directory if this control plane created it.
#[derive(Debug)]
pub struct ControlPlane {
    dir: PathBuf,
    remove_dir_on_stop: bool,
    /// In start order; stopped in reverse.
    processes: Vec<ManagedProcess>,
    server_url: String,
    kubeconfig: PathBuf,
    extra_kubeconfig: Option<PathBuf>,
    startup: Duration,
}

impl ControlPlane {
    /// Builds the binaries if needed, then starts every component and waits until the API
    /// server is ready, the nodes are Ready and the `default` ServiceAccount exists.
    ///
    /// Blocks the calling thread; it must not be called from inside an async runtime.
    pub fn start(options: ControlPlaneOptions) -> Result<Self, TestEnvError> {
        let binaries = binaries::ensure_built()?;
        let started = Instant::now();
        let (dir, created_dir) = prepare_dir(options.dir.as_deref())?;
        let mut plane = Self {
            kubeconfig: dir.join("kubeconfig"),
            dir,
            remove_dir_on_stop: created_dir,
            processes: Vec::new(),
            server_url: String::new(),
            extra_kubeconfig: None,
            startup: Duration::ZERO,
        };
        plane.launch(&binaries, &options)?;
        plane.startup = started.elapsed();
        tracing::info!(
            server = %plane.server_url,
            dir = %plane.dir.display(),
            nodes = options.nodes,
            startup_ms = plane.startup.as_millis() as u64,
            "control plane ready"
        );
        Ok(plane)
    }

    fn launch(
        &mut self,
        binaries: &Binaries,
        options: &ControlPlaneOptions,
    ) -> Result<(), TestEnvError> {
        let logs = self.dir.join("logs");
        fs::create_dir_all(&logs).map_err(|source| TestEnvError::io("create", &logs, source))?;
        let pki = pki::write_pki(&self.dir.join("pki"))?;
        let token = pki::random_token()?;
        let token_file = self.dir.join("pki/tokens.csv");
        pki::write_secret(
            &token_file,
            &format!("{token},admin,admin,\"system:masters\"\n"),
        )?;

        let etcd_client = free_port()?;
        let etcd_peer = free_port()?;
        let apiserver_port = free_port()?;
        self.server_url = format!("https://127.0.0.1:{apiserver_port}");

        let etcd_args = etcd_args(&self.dir.join("etcd"), etcd_client, etcd_peer);
        self.spawn("etcd", &binaries.etcd, &etcd_args, &logs)?;
        self.wait_for_port("etcd", etcd_client)?;

        let apiserver_args = apiserver_args(&pki, &token_file, etcd_client, apiserver_port);
        self.spawn(
            "kube-apiserver",
            &binaries.kube_apiserver,
            &apiserver_args,
            &logs,
        )?;

        let kubeconfig_yaml = render_kubeconfig(&self.server_url, &pki.ca_pem, &token)?;
        pki::write_secret(&self.kubeconfig, &kubeconfig_yaml)?;

        // Connection errors while the port is still closed would only be logged as noise.
        self.wait_for_port("kube-apiserver", apiserver_port)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| TestEnvError::io("start a runtime in", &self.dir, source))?;
        let client = runtime.block_on(client_from_kubeconfig(&self.kubeconfig))?;
        runtime.block_on(self.wait_until("kube-apiserver /readyz", || {
            let client = client.clone();
            async move { api_server_ready(&client).await }
        }))?;

        let kcm_args = controller_manager_args(&pki, &self.kubeconfig);
        self.spawn(
            "kube-controller-manager",
            &binaries.kube_controller_manager,
            &kcm_args,
            &logs,
        )?;
        let scheduler_config = self.dir.join("kube-scheduler.yaml");
        fs::write(&scheduler_config, scheduler_config_yaml(&self.kubeconfig))
            .map_err(|source| TestEnvError::io("write", &scheduler_config, source))?;
        let scheduler_args = vec![
            format!("--config={}", scheduler_config.display()),
            "--secure-port=0".to_string(),
        ];
        self.spawn(
            "kube-scheduler",
            &binaries.kube_scheduler,
            &scheduler_args,
            &logs,
        )?;
        let kwok_args = kwok_args(&self.kubeconfig, &binaries.kwok_stages);
        self.spawn("kwok", &binaries.kwok, &kwok_args, &logs)?;

        runtime.block_on(create_nodes(&client, options.nodes))?;
        let expected_nodes = options.nodes;
        runtime.block_on(self.wait_until("nodes Ready", || {
            let client = client.clone();
            async move {
                ready_nodes(&client)
                    .await
                    .map(|ready| ready >= expected_nodes)
            }
        }))?;
        runtime.block_on(self.wait_until("the default ServiceAccount", || {
            let client = client.clone();
            async move {
                let accounts: Api<ServiceAccount> = Api::namespaced(client, "default");
                Ok(accounts.get_opt("default").await?.is_some())
            }
        }))?;

        if let Some(path) = &options.kubeconfig {
            pki::write_secret(path, &kubeconfig_yaml)?;
            self.extra_kubeconfig = Some(path.clone());
        }
        Ok(())
    }

    fn spawn(
        &mut self,
        name: &str,
        program: &Path,
        args: &[String],
        logs: &Path,
    ) -> Result<(), TestEnvError> {
        let log = logs.join(format!("{name}.log"));
        self.processes
            .push(ManagedProcess::start(name, program, args, &log)?);
        Ok(())
    }

    fn check_processes(&mut self) -> Result<(), TestEnvError> {
        self.processes
            .iter_mut()
            .try_for_each(ManagedProcess::check_running)
    }

    fn wait_for_port(&mut self, what: &str, port: u16) -> Result<(), TestEnvError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            self.check_processes()?;
            if Instant::now() > deadline {
                return Err(TestEnvError::NotReady {
                    what: what.to_string(),
                    waited: READY_TIMEOUT,
                    logs: self.dir.join("logs"),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Polls `check` until it says yes, failing early if a component exits.
    async fn wait_until<F, Fut>(&mut self, what: &str, mut check: F) -> Result<(), TestEnvError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<bool, kube::Error>>,
    {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            self.check_processes()?;
            if let Ok(true) = check().await {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(TestEnvError::NotReady {
                    what: what.to_string(),
                    waited: READY_TIMEOUT,
                    logs: self.dir.join("logs"),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The API server's URL, `https://127.0.0.1:PORT`.
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// The admin kubeconfig inside the state directory.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Time from the first component's start to ready (excluding any build).
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// Each component's name, pid and resident memory in bytes.
    pub fn components(&self) -> Vec<(String, u32, Option<u64>)> {
        self.processes
            .iter()
            .map(|process| {
                (
                    process.name().to_string(),
                    process.pid(),
                    resident_bytes(process.pid()),
                )
            })
            .collect()
    }

    /// Fails if a component has exited.
    pub fn check_health(&mut self) -> Result<(), TestEnvError> {
        self.check_processes()
    }

    /// Stops every component, newest first, and removes what this control plane created.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        while let Some(mut process) = self.processes.pop() {
            process.stop(Duration::from_secs(10));
        }
        if let Some(path) = self.extra_kubeconfig.take() {
            let _ = fs::remove_file(path);
        }
        if self.remove_dir_on_stop {
            self.remove_dir_on_stop = false;
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Uses `dir` (created if absent, and then removed at stop) or a new temporary directory.
/// Temporary directories of control planes whose process died are swept first.
fn prepare_dir(dir: Option<&Path>) -> Result<(PathBuf, bool), TestEnvError> {
    match dir {
        Some(dir) => {
            let created = !dir.exists();
            fs::create_dir_all(dir).map_err(|source| TestEnvError::io("create", dir, source))?;
            let dir =
                fs::canonicalize(dir).map_err(|source| TestEnvError::io("resolve", dir, source))?;
            Ok((dir, created))
        }
        None => {
            let parent = std::env::temp_dir();
            sweep_stale_dirs(&parent);
            let mut attempt = 0u32;
            loop {
                let candidate = parent.join(format!(
                    "driftless-testenv-{}-{attempt}",
                    std::process::id()
                ));
                match fs::create_dir(&candidate) {
                    Ok(()) => return Ok((candidate, true)),
                    Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                        attempt += 1;
                    }
                    Err(source) => return Err(TestEnvError::io("create", &candidate, source)),
                }
            }
        }
    }
}

fn sweep_stale_dirs(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|name| name.strip_prefix("driftless-testenv-"))
        else {
            continue;
        };
        let Some(pid) = rest
            .split('-')
            .next()
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// A port on 127.0.0.1 that was free a moment ago. Another process could take it before the
/// component binds it; the component then exits and start-up fails with its log, which is
/// rare enough on a test machine to accept.
pub fn free_port() -> Result<u16, TestEnvError> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .map_err(|source| TestEnvError::io("bind", Path::new("127.0.0.1:0"), source))?;
    let port = listener
        .local_addr()
        .map_err(|source| TestEnvError::io("bind", Path::new("127.0.0.1:0"), source))?
        .port();
    Ok(port)
}

fn etcd_args(data_dir: &Path, client_port: u16, peer_port: u16) -> Vec<String> {
    let client = format!("http://127.0.0.1:{client_port}");
    let peer = format!("http://127.0.0.1:{peer_port}");
    vec![
        format!("--data-dir={}", data_dir.display()),
        format!("--listen-client-urls={client}"),
        format!("--advertise-client-urls={client}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=default={peer}"),
        // A test cluster's data is thrown away; skipping fsync makes every write much faster.
        "--unsafe-no-fsync=true".to_string(),
        "--log-level=warn".to_string(),
    ]
}

fn apiserver_args(pki: &Pki, token_file: &Path, etcd_port: u16, port: u16) -> Vec<String> {
    vec![
        format!("--etcd-servers=http://127.0.0.1:{etcd_port}"),
        "--bind-address=127.0.0.1".to_string(),
        "--advertise-address=127.0.0.1".to_string(),
        format!("--secure-port={port}"),
        format!("--tls-cert-file={}", pki.serving_cert.display()),
        format!("--tls-private-key-file={}", pki.serving_key.display()),
        format!("--client-ca-file={}", pki.ca_cert.display()),
        format!("--token-auth-file={}", token_file.display()),
        "--authorization-mode=RBAC".to_string(),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local".to_string(),
        format!(
            "--service-account-key-file={}",
            pki.service_account_public_key.display()
        ),
        format!(
            "--service-account-signing-key-file={}",
            pki.service_account_key.display()
        ),
        "--service-cluster-ip-range=10.0.0.0/16".to_string(),
        // The only address is loopback, which Endpoints may not hold; nothing in the
        // cluster can reach the API server through the `kubernetes` Service anyway.
        "--endpoint-reconciler-type=none".to_string(),
        "--allow-privileged=true".to_string(),
        // Scale benchmarks send thousands of requests at once.
        "--max-requests-inflight=2000".to_string(),
        "--max-mutating-requests-inflight=1000".to_string(),
        "--profiling=false".to_string(),
        "--v=0".to_string(),
    ]
}

fn controller_manager_args(pki: &Pki, kubeconfig: &Path) -> Vec<String> {
    vec![
        format!("--kubeconfig={}", kubeconfig.display()),
        "--leader-elect=false".to_string(),
        "--controllers=*".to_string(),
        format!("--root-ca-file={}", pki.ca_cert.display()),
        format!(
            "--service-account-private-key-file={}",
            pki.service_account_key.display()
        ),
        format!("--cluster-signing-cert-file={}", pki.ca_cert.display()),
        format!("--cluster-signing-key-file={}", pki.ca_key.display()),
        format!("--kube-api-qps={COMPONENT_QPS}"),
        format!("--kube-api-burst={COMPONENT_BURST}"),
        "--concurrent-deployment-syncs=20".to_string(),
        "--concurrent-replicaset-syncs=20".to_string(),
        "--concurrent-gc-syncs=50".to_string(),
        "--concurrent-namespace-syncs=20".to_string(),
        "--secure-port=0".to_string(),
        "--v=0".to_string(),
    ]
}

fn scheduler_config_yaml(kubeconfig: &Path) -> String {
    format!(
        "apiVersion: kubescheduler.config.k8s.io/v1\n\
         kind: KubeSchedulerConfiguration\n\
         clientConnection:\n  kubeconfig: {}\n  qps: {COMPONENT_QPS}\n  burst: {COMPONENT_BURST}\n\
         leaderElection:\n  leaderElect: false\n",
        serde_json::Value::String(kubeconfig.display().to_string())
    )
}

fn kwok_args(kubeconfig: &Path, stages: &Path) -> Vec<String> {
    vec![
        format!("--kubeconfig={}", kubeconfig.display()),
        format!("--config={}", stages.display()),
        "--manage-all-nodes=false".to_string(),
        format!("--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake"),
        "--node-lease-duration-seconds=40".to_string(),
        "--cidr=10.244.0.0/16".to_string(),
    ]
}

/// The admin kubeconfig: the CA inline, so the file works wherever it is copied to.
fn render_kubeconfig(server: &str, ca_pem: &str, token: &str) -> Result<String, TestEnvError> {
    use base64::Engine;
    let ca_data = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "driftless-testenv", "cluster": {
            "server": server,
            "certificate-authority-data": ca_data,
        }}],
        "users": [{"name": "driftless-testenv-admin", "user": {"token": token}}],
        "contexts": [{"name": "driftless-testenv", "context": {
            "cluster": "driftless-testenv",
            "user": "driftless-testenv-admin",
        }}],
        "current-context": "driftless-testenv",
        "preferences": {},
    });
    serde_saphyr::to_string(&config).map_err(|error| TestEnvError::Kubeconfig(error.to_string()))
}

/// A kube client for a kubeconfig file.
pub async fn client_from_kubeconfig(path: &Path) -> Result<kube::Client, TestEnvError> {
    kube::Client::try_from(config_from_kubeconfig(path).await?).map_err(TestEnvError::Client)
}

/// The client configuration a kubeconfig file holds.
pub async fn config_from_kubeconfig(path: &Path) -> Result<kube::Config, TestEnvError> {
    let kubeconfig = Kubeconfig::read_from(path)
        .map_err(|error| TestEnvError::Kubeconfig(format!("{}: {error}", path.display())))?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|error| TestEnvError::Kubeconfig(format!("{}: {error}", path.display())))
}

async fn api_server_ready(client: &kube::Client) -> Result<bool, kube::Error> {
    // `send`, not `request_text`: a 500 while the server starts is the expected answer,
    // and `request_text` would log each one as an error.
    let request = http::Request::get("/readyz")
        .body(kube::client::Body::empty())
        .map_err(kube::Error::HttpError)?;
    let response = client.send(request).await?;
    Ok(response.status() == http::StatusCode::OK)
}

async fn create_nodes(client: &kube::Client, count: usize) -> Result<(), TestEnvError> {
    let nodes: Api<Node> = Api::all(client.clone());
    for index in 0..count {
        let name = format!("kwok-node-{index}");
        let node = simulated_node(&name);
        nodes
            .patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&node),
            )
            .await
            .map_err(TestEnvError::Client)?;
    }
    Ok(())
}

/// A Node that kwok manages: roomy enough that scale benchmarks never run out of pods.
fn simulated_node(name: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {
                KWOK_NODE_ANNOTATION: "fake",
                "node.alpha.kubernetes.io/ttl": "0",
            },
            "labels": {
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "type": "kwok",
            },
        },
        "status": {
            "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
            "capacity": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
        },
    })
}

async fn ready_nodes(client: &kube::Client) -> Result<usize, kube::Error> {
    let nodes: Api<Node> = Api::all(client.clone());
    let list = nodes.list(&Default::default()).await?;
    Ok(list
        .items
        .iter()
        .filter(|node| {
            node.status
                .as_ref()
                .and_then(|status| status.conditions.as_ref())
                .is_some_and(|conditions| {
                    conditions
                        .iter()
                        .any(|condition| condition.type_ == "Ready" && condition.status == "True")
                })
        })
        .count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_names_server_and_token() {
        let yaml = render_kubeconfig("https://127.0.0.1:6443", "PEM", "secret").expect("yaml");
        let parsed: serde_json::Value = serde_saphyr::from_str(&yaml).expect("valid yaml");
        assert_eq!(
            parsed["clusters"][0]["cluster"]["server"],
            "https://127.0.0.1:6443"
        );
        assert_eq!(parsed["users"][0]["user"]["token"], "secret");
        assert_eq!(parsed["current-context"], "driftless-testenv");
    }

    #[test]
    fn free_ports_are_distinct_and_non_zero() {
        let first = free_port().expect("port");
        assert_ne!(first, 0);
    }
}
