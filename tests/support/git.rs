//! Real Git for the source tests: a repository built with the `git` command, served by a
//! real `git daemon` and by `git http-backend` behind a small HTTP server written here
//! (with optional basic or bearer auth, and optional TLS).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Runs `git` with the host's configuration shut out, failing the test when it fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@driftless.invalid",
        ])
        .args(["-c", "init.defaultBranch=main", "-c", "core.symlinks=true"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .output()
        .unwrap_or_else(|error| panic!("cannot run git {args:?}: {error}"));
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A scratch directory removed when dropped.
pub fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("driftless-{name}-"))
        .tempdir()
        .expect("create a scratch directory")
}

/// A repository with a work tree where tests write and commit, and a bare copy under
/// `root()/repo.git` that the servers publish. Every change is pushed at once.
pub struct TestRepo {
    dir: tempfile::TempDir,
    work: PathBuf,
}

impl TestRepo {
    /// A repository on branch `main` with one commit holding `files`.
    pub fn new(files: &[(&str, &str)]) -> Self {
        let dir = scratch("repo");
        std::fs::create_dir_all(dir.path().join("work")).expect("mkdir work");
        std::fs::create_dir_all(dir.path().join("served")).expect("mkdir served");
        let work = dir.path().join("work");
        let repo = TestRepo { dir, work };
        git(repo.work(), &["init", "-q", "-b", "main"]);
        git(&repo.root(), &["init", "-q", "--bare", "repo.git"]);
        // http-backend refuses to serve a repository that is not exported; daemon needs
        // --export-all or this file.
        std::fs::write(repo.bare().join("git-daemon-export-ok"), "").expect("export");
        git(
            repo.work(),
            &[
                "remote",
                "add",
                "origin",
                &repo.bare().display().to_string(),
            ],
        );
        repo.write_files(files);
        repo.commit("initial");
        repo
    }

    pub fn work(&self) -> &Path {
        &self.work
    }

    /// The directory servers publish; the repository is `repo.git` in it.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("served")
    }

    pub fn bare(&self) -> PathBuf {
        self.root().join("repo.git")
    }

    pub fn file_url(&self) -> String {
        format!("file://{}", self.bare().display())
    }

    pub fn write_files(&self, files: &[(&str, &str)]) {
        for (path, content) in files {
            let full = self.work().join(path);
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            std::fs::write(&full, content).expect("write file");
        }
    }

    pub fn symlink(&self, path: &str, target: &str) {
        let full = self.work().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::os::unix::fs::symlink(target, full).expect("symlink");
    }

    pub fn remove(&self, path: &str) {
        git(self.work(), &["rm", "-q", "-r", path]);
    }

    /// Commits everything on the current branch, pushes, and returns the commit id.
    pub fn commit(&self, message: &str) -> String {
        git(self.work(), &["add", "-A"]);
        git(
            self.work(),
            &["commit", "-q", "--allow-empty", "-m", message],
        );
        self.push();
        self.head()
    }

    pub fn head(&self) -> String {
        git(self.work(), &["rev-parse", "HEAD"])
    }

    /// Switches to `branch`, creating it from the current commit when new.
    pub fn checkout(&self, branch: &str) {
        let exists = Command::new("git")
            .current_dir(self.work())
            .args([
                "rev-parse",
                "--verify",
                "-q",
                &format!("refs/heads/{branch}"),
            ])
            .stdout(Stdio::null())
            .status()
            .map(|status| status.success())
            .unwrap_or(false);
        if exists {
            git(self.work(), &["checkout", "-q", branch]);
        } else {
            git(self.work(), &["checkout", "-q", "-b", branch]);
        }
    }

    pub fn tag(&self, name: &str) {
        git(self.work(), &["tag", name]);
        self.push();
    }

    pub fn annotated_tag(&self, name: &str) {
        git(
            self.work(),
            &["tag", "-a", name, "-m", &format!("release {name}")],
        );
        self.push();
    }

    /// Publishes the current commit under an arbitrary ref, e.g. `refs/pull/1/head`.
    pub fn push_ref(&self, name: &str) {
        git(
            self.work(),
            &["push", "-q", "--force", "origin", &format!("HEAD:{name}")],
        );
    }

    fn push(&self) {
        git(self.work(), &["push", "-q", "--force", "--all", "origin"]);
        git(self.work(), &["push", "-q", "--force", "--tags", "origin"]);
    }
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn wait_for_port(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("server exited early: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "server on port {port} did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A real `git daemon` serving a directory on 127.0.0.1. Dropping it kills the daemon.
pub struct GitDaemon {
    child: Child,
    port: u16,
}

impl GitDaemon {
    pub fn start(root: &Path) -> Self {
        Self::start_on(root, closed_port())
    }

    /// A daemon on a given port: the same server coming back after it went down.
    pub fn start_on(root: &Path, port: u16) -> Self {
        let exec_path = git(Path::new("/"), &["--exec-path"]);
        // The daemon binary itself, not `git daemon`: killing the `git` wrapper would leave
        // the daemon holding the test's pipes.
        let mut child = Command::new(Path::new(&exec_path).join("git-daemon"))
            .arg("--reuseaddr")
            .arg("--export-all")
            .arg("--listen=127.0.0.1")
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", root.display()))
            .arg(root)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start git-daemon");
        wait_for_port(port, &mut child);
        GitDaemon { child, port }
    }

    pub fn url(&self, repository: &str) -> String {
        format!("git://127.0.0.1:{}/{repository}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the HTTP server demands before it runs `git http-backend`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpAuth {
    Anonymous,
    Basic { username: String, password: String },
    Bearer(String),
}

/// TLS for the HTTP server: its certificate chain and key in PEM.
#[derive(Clone)]
pub struct ServerTls {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    /// When set, clients must present a certificate signed by this CA.
    pub client_ca_pem: Option<Vec<u8>>,
}

/// `git http-backend` behind a minimal HTTP/1.1 server on 127.0.0.1.
pub struct HttpGitServer {
    port: u16,
    tls: bool,
    stop: Arc<AtomicBool>,
    /// The `Authorization` header of every request, for asserting what was sent.
    pub seen_authorization: Arc<Mutex<Vec<Option<String>>>>,
}

impl HttpGitServer {
    pub fn start(root: &Path, auth: HttpAuth) -> Self {
        Self::start_with(root, auth, None)
    }

    pub fn start_with(root: &Path, auth: HttpAuth, tls: Option<ServerTls>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let tls_config = tls.map(|tls| Arc::new(tls_server_config(&tls)));
        let server = HttpGitServer {
            port,
            tls: tls_config.is_some(),
            stop: Arc::clone(&stop),
            seen_authorization: Arc::clone(&seen),
        };
        let root = root.to_path_buf();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let root = root.clone();
                let auth = auth.clone();
                let seen = Arc::clone(&seen);
                let tls_config = tls_config.clone();
                std::thread::spawn(move || {
                    let _ = match tls_config {
                        Some(config) => {
                            let Ok(connection) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            let mut tls_stream = rustls::StreamOwned::new(connection, stream);
                            let result = serve(&mut tls_stream, &root, &auth, &seen);
                            tls_stream.conn.send_close_notify();
                            let _ = tls_stream.flush();
                            result
                        }
                        None => {
                            let mut stream = stream;
                            let result = serve(&mut stream, &root, &auth, &seen);
                            let _ = stream.shutdown(Shutdown::Write);
                            result
                        }
                    };
                });
            }
        });
        server
    }

    pub fn url(&self, repository: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}/{repository}", self.port)
    }
}

impl Drop for HttpGitServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn tls_server_config(tls: &ServerTls) -> rustls::ServerConfig {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&tls.cert_pem)
        .collect::<Result<_, _>>()
        .expect("server certificate PEM");
    let key = PrivateKeyDer::from_pem_slice(&tls.key_pem).expect("server key PEM");
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .expect("protocol versions");
    let builder = match &tls.client_ca_pem {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(ca) {
                roots
                    .add(cert.expect("client CA PEM"))
                    .expect("add client CA");
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    builder
        .with_single_cert(certs, key)
        .expect("server certificate and key")
}

/// A request as far as the CGI needs it.
struct Request {
    method: String,
    path: String,
    query: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

fn read_request(stream: &mut dyn Read) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    let mut body = Vec::new();
    if headers
        .get("transfer-encoding")
        .is_some_and(|value| value.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line).ok()?;
            let size = usize::from_str_radix(size_line.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = headers.get("content-length") {
        let length: usize = length.parse().ok()?;
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_string(), query.to_string()),
        None => (target, String::new()),
    };
    Some(Request {
        method,
        path,
        query,
        headers,
        body,
    })
}

fn serve<S: Read + Write>(
    stream: &mut S,
    root: &Path,
    auth: &HttpAuth,
    seen: &Mutex<Vec<Option<String>>>,
) -> std::io::Result<()> {
    let Some(request) = read_request(stream) else {
        return Ok(());
    };
    let authorization = request.headers.get("authorization").cloned();
    seen.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(authorization.clone());
    let remote_user = match auth {
        HttpAuth::Anonymous => None,
        HttpAuth::Basic { username, password } => {
            use base64::Engine;
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            );
            if authorization.as_deref() != Some(expected.as_str()) {
                return write_response(
                    stream,
                    "401 Unauthorized",
                    &[("WWW-Authenticate", "Basic realm=\"git\"")],
                    b"authentication required\n",
                );
            }
            Some(username.clone())
        }
        HttpAuth::Bearer(token) => {
            if authorization.as_deref() != Some(format!("Bearer {token}").as_str()) {
                return write_response(
                    stream,
                    "401 Unauthorized",
                    &[("WWW-Authenticate", "Bearer")],
                    b"authentication required\n",
                );
            }
            Some("bearer".to_string())
        }
    };
    let mut command = Command::new("git");
    command
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", &request.path)
        .env("QUERY_STRING", &request.query)
        .env("REQUEST_METHOD", &request.method)
        .env("CONTENT_LENGTH", request.body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(content_type) = request.headers.get("content-type") {
        command.env("CONTENT_TYPE", content_type);
    }
    // Protocol v2 travels in this header; the backend reads it from the environment.
    if let Some(protocol) = request.headers.get("git-protocol") {
        command.env("GIT_PROTOCOL", protocol);
    }
    if let Some(user) = remote_user {
        command.env("REMOTE_USER", user);
    }
    let mut child = command.spawn()?;
    let mut stdin = child.stdin.take().expect("backend stdin");
    let body = request.body;
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let mut output = Vec::new();
    child
        .stdout
        .take()
        .expect("backend stdout")
        .read_to_end(&mut output)?;
    let _ = writer.join();
    let _ = child.wait();
    let split = output
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|index| (index, 4))
        .or_else(|| {
            output
                .windows(2)
                .position(|window| window == b"\n\n")
                .map(|index| (index, 2))
        });
    let Some((end, separator)) = split else {
        return write_response(
            stream,
            "500 Internal Server Error",
            &[],
            b"bad CGI output\n",
        );
    };
    let head = String::from_utf8_lossy(&output[..end]).to_string();
    let mut status = "200 OK".to_string();
    let mut headers = Vec::new();
    for line in head.lines() {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("status") {
                status = value.trim().to_string();
            } else {
                headers.push((name.trim().to_string(), value.trim().to_string()));
            }
        }
    }
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    write_response(stream, &status, &headers, &output[end + separator..])
}

fn write_response<S: Write>(
    stream: &mut S,
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

/// A TCP server that accepts connections and never answers, to exercise timeouts.
pub struct BlackHole {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl BlackHole {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                held.extend(stream.ok());
            }
        });
        BlackHole { port, stop }
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// A throw-away CA with a serving certificate for 127.0.0.1 and a client certificate, in
/// PEM. A separate CA matters: rustls refuses a self-signed certificate as its own anchor.
pub struct TestPki {
    pub ca_pem: Vec<u8>,
    pub server_cert_pem: Vec<u8>,
    pub server_key_pem: Vec<u8>,
    pub client_cert_pem: Vec<u8>,
    pub client_key_pem: Vec<u8>,
}

impl TestPki {
    pub fn new() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
            IsCa, KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::default();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "driftless-git-test-ca");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA");
        let leaf = |names: Vec<String>, purpose: ExtendedKeyUsagePurpose, common_name: &str| {
            let key = KeyPair::generate().expect("leaf key");
            let mut params = CertificateParams::new(names).expect("leaf params");
            params
                .distinguished_name
                .push(DnType::CommonName, common_name);
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            params.extended_key_usages = vec![purpose];
            let cert = params.signed_by(&key, &ca).expect("sign leaf");
            (cert.pem().into_bytes(), key.serialize_pem().into_bytes())
        };
        let (server_cert_pem, server_key_pem) = leaf(
            vec!["127.0.0.1".to_string(), "localhost".to_string()],
            ExtendedKeyUsagePurpose::ServerAuth,
            "git-server",
        );
        let (client_cert_pem, client_key_pem) = leaf(
            Vec::new(),
            ExtendedKeyUsagePurpose::ClientAuth,
            "flux-client",
        );
        TestPki {
            ca_pem: ca.pem().into_bytes(),
            server_cert_pem,
            server_key_pem,
            client_cert_pem,
            client_key_pem,
        }
    }

    pub fn server_tls(&self, require_client_certificate: bool) -> ServerTls {
        ServerTls {
            cert_pem: self.server_cert_pem.clone(),
            key_pem: self.server_key_pem.clone(),
            client_ca_pem: require_client_certificate.then(|| self.ca_pem.clone()),
        }
    }
}

/// Generates an unencrypted ed25519 key pair with `ssh-keygen`: (private key in OpenSSH
/// format, public key line).
pub fn ssh_key_pair(comment: &str) -> (String, String) {
    let dir = scratch("ssh-key");
    let path = dir.path().join("key");
    let output = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(&path)
        .output()
        .expect("run ssh-keygen");
    assert!(
        output.status.success(),
        "ssh-keygen failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let private = std::fs::read_to_string(&path).expect("read private key");
    let public = std::fs::read_to_string(path.with_extension("pub")).expect("read public key");
    (private, public.trim().to_string())
}

/// The `known_hosts` line trusting `public_key` (an `ssh-… AAAA… comment` line) for
/// 127.0.0.1 on `port`: OpenSSH names non-default ports as `[host]:port`.
pub fn known_hosts_line(port: u16, public_key: &str) -> String {
    let key: Vec<&str> = public_key.split_whitespace().take(2).collect();
    format!("[127.0.0.1]:{port} {}\n", key.join(" "))
}

/// Set by CI, which installs openssh-server: there an sshd that cannot run fails the ssh
/// tests instead of skipping them.
pub const REQUIRE_SSHD: &str = "DRIFTLESS_REQUIRE_SSHD";

const SSHD: &str = "/usr/sbin/sshd";
/// Compiled into Debian's sshd: it refuses to start without this directory for the
/// privilege-separated child.
const SSHD_PRIVSEP_DIR: &str = "/run/sshd";

/// A real OpenSSH server on 127.0.0.1 with a fresh host key, letting in one freshly
/// generated client key as root. `git-upload-pack` then runs as root and reads the bare
/// repositories of `TestRepo`s straight from disk. Dropping it kills sshd.
pub struct SshServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    client_key: String,
    host_public_key: String,
}

impl SshServer {
    /// Starts sshd, or says why it cannot run here: no sshd installed, not root (sshd
    /// needs root to switch to the logged-in user), or sshd refused to start.
    pub fn start() -> Result<Self, String> {
        if !Path::new(SSHD).exists() {
            return Err(format!("{SSHD} is not installed (package openssh-server)"));
        }
        if !running_as_root() {
            return Err("sshd needs root to log users in and these tests are not root".into());
        }
        ensure_privsep_dir()?;
        let dir = scratch("sshd");
        let host_key = dir.path().join("host_ed25519");
        let status = Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "driftless-test-host",
                "-f",
            ])
            .arg(&host_key)
            .status()
            .map_err(|error| format!("cannot run ssh-keygen: {error}"))?;
        if !status.success() {
            return Err(format!("ssh-keygen for the host key failed: {status}"));
        }
        let host_public_key = std::fs::read_to_string(host_key.with_extension("pub"))
            .map_err(|error| format!("cannot read the host public key: {error}"))?
            .trim()
            .to_string();
        let (client_key, client_public_key) = ssh_key_pair("driftless-test-client");
        let authorized_keys = dir.path().join("authorized_keys");
        std::fs::write(&authorized_keys, format!("{client_public_key}\n"))
            .map_err(|error| format!("cannot write authorized_keys: {error}"))?;
        let port = closed_port();
        let config = dir.path().join("sshd_config");
        // Nothing from /etc/ssh: a self-contained server that only knows the test key.
        // StrictModes is off because the scratch directory's permissions are not sshd's
        // business here; PAM is off because containers rarely have a working PAM stack.
        let settings = format!(
            "ListenAddress 127.0.0.1\n\
             Port {port}\n\
             HostKey {host_key}\n\
             AuthorizedKeysFile {authorized_keys}\n\
             PubkeyAuthentication yes\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\n\
             StrictModes no\n\
             UsePAM no\n\
             PidFile none\n\
             AcceptEnv GIT_PROTOCOL\n\
             LogLevel VERBOSE\n",
            host_key = host_key.display(),
            authorized_keys = authorized_keys.display(),
        );
        std::fs::write(&config, settings)
            .map_err(|error| format!("cannot write sshd_config: {error}"))?;
        let log = std::fs::File::create(dir.path().join("sshd.log"))
            .map_err(|error| format!("cannot create the sshd log: {error}"))?;
        // sshd itself, in the foreground (-D), logging to stderr (-e): the pid is the
        // listener's, so the kill on drop stops it.
        let child = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|error| format!("cannot start {SSHD}: {error}"))?;
        let mut server = SshServer {
            child,
            port,
            dir,
            client_key,
            host_public_key,
        };
        server.wait_until_listening()?;
        Ok(server)
    }

    /// `start`, or `None` after printing `SKIPPED: <why>` when sshd cannot run here;
    /// with `DRIFTLESS_REQUIRE_SSHD=1` that panics instead.
    pub fn start_or_skip(test: &str) -> Option<Self> {
        match Self::start() {
            Ok(server) => Some(server),
            Err(why) if std::env::var(REQUIRE_SSHD).is_ok_and(|value| value == "1") => {
                panic!("{test}: sshd is required ({REQUIRE_SSHD}=1) but cannot run: {why}")
            }
            Err(why) => {
                // Straight to stderr: the test harness captures `eprintln!` of passing
                // tests, and a skip must be seen.
                let _ = writeln!(std::io::stderr(), "SKIPPED: {test}: {why}");
                None
            }
        }
    }

    fn wait_until_listening(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("sshd exited at start ({status}): {}", self.log()));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "sshd did not listen on port {} within 10s: {}",
                    self.port,
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The private key sshd lets in, as the Secret's `identity` holds it.
    pub fn client_key(&self) -> &str {
        &self.client_key
    }

    /// The line for the Secret's `known_hosts` that trusts this server's host key.
    pub fn known_hosts(&self) -> String {
        known_hosts_line(self.port, &self.host_public_key)
    }

    /// `ssh://root@127.0.0.1:PORT/abs/path/repo.git` for a bare repository on this machine.
    pub fn url(&self, bare_repository: &Path) -> String {
        format!(
            "ssh://root@127.0.0.1:{}{}",
            self.port,
            bare_repository.display()
        )
    }

    /// What sshd logged so far (connections, accepted and refused keys).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for SshServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// Creates sshd's privilege separation directory when it is missing, as the
/// openssh-server package's service would at boot; containers never boot it.
fn ensure_privsep_dir() -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    let path = Path::new(SSHD_PRIVSEP_DIR);
    if path.is_dir() {
        return Ok(());
    }
    match std::fs::DirBuilder::new().mode(0o755).create(path) {
        Ok(()) => Ok(()),
        // Another test binary created it meanwhile.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(format!("cannot create {SSHD_PRIVSEP_DIR}: {error}")),
    }
}
