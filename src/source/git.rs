//! Fetching the commit a GitRepository points at, with gix, into a bare repository kept
//! per source so that later fetches only transfer what changed.
//!
//! What is fetched follows source-controller: a branch, tag, semver-selected tag or named
//! ref is fetched shallowly (depth 1); a commit pin fetches the whole history of its branch
//! (or of every branch) so that the commit can be found. The reference is resolved against
//! the remote's advertised refs first, so a missing branch, tag or range fails with an error
//! naming it, and a commit that is already in the local store is not fetched again.
//!
//! Transports: `file://`, `git://`, `http://` and `https://` (anonymous, basic auth, bearer
//! token; `ca.crt` and `tls.crt`/`tls.key` for HTTPS), and `ssh://` through the system
//! `ssh`, with the Secret's `identity` and `known_hosts` written to private files and
//! strict host key checking; what ssh writes to stderr is kept to classify its failures
//! (an unknown host key, a refused key, a missing repository).
//!
//! The timeout bounds the whole fetch: it runs on a worker thread, and when time is up the
//! fetch is interrupted and its repository moved aside, so a late write by the abandoned
//! worker cannot meet the next fetch. A fetch that failed while it may have been writing
//! (a broken transfer, a local error) discards the repository the same way, and a store
//! left with a held lock or a damaged HEAD is replaced: the next fetch starts clean rather
//! than tripping over locks, a shallow file or packs of an interrupted transfer. Failures
//! that precede any write (refused credentials, a missing branch) keep the store.
//!
//! Must not: read or write worktrees (the artifact is read from the object store), or know
//! about Kubernetes objects beyond the GitRepository reference types.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::semver::{self, Constraint, SemverError};
use crate::api::git_repository::DEFAULT_BRANCH;
use crate::api::git_repository::v1::GitRepositoryRef;

/// Name of the bare repository inside a fetch's work directory.
const REPOSITORY_DIR: &str = "repository.git";
/// Prefix of repositories moved aside after a failed or abandoned fetch.
const TRASH_PREFIX: &str = "discarded-";
/// The local ref a fetched remote ref is stored under.
const FETCHED_REF: &str = "refs/driftless/fetched";
/// Past this many packs the repository is started afresh: every fetch of a new commit
/// adds one, and nothing else repacks.
const MAX_PACKS: usize = 64;

/// Which commit of the remote to fetch, from `spec.ref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitReference {
    /// No reference given: Flux fetches branch `master` (not the remote's HEAD).
    Default,
    Branch(String),
    Tag(String),
    /// A Masterminds semver range over the tags; the highest match is fetched.
    Semver(String),
    /// A full reference such as `refs/heads/main` or `refs/pull/1/head`.
    Name(String),
    /// A commit id (40 hex digits), optionally on a branch that must contain it.
    Commit {
        commit: String,
        branch: Option<String>,
    },
}

fn non_empty(field: &Option<String>) -> Option<&str> {
    field.as_deref().filter(|value| !value.is_empty())
}

impl GitReference {
    /// The reference `spec.ref` selects, with Flux's precedence: commit, then name, semver,
    /// tag, branch. Empty strings count as unset, as they do in Flux.
    pub fn from_spec(reference: Option<&GitRepositoryRef>) -> Self {
        let Some(reference) = reference else {
            return GitReference::Default;
        };
        if let Some(commit) = non_empty(&reference.commit) {
            GitReference::Commit {
                commit: commit.to_string(),
                branch: non_empty(&reference.branch).map(str::to_string),
            }
        } else if let Some(name) = non_empty(&reference.name) {
            GitReference::Name(name.to_string())
        } else if let Some(range) = non_empty(&reference.semver) {
            GitReference::Semver(range.to_string())
        } else if let Some(tag) = non_empty(&reference.tag) {
            GitReference::Tag(tag.to_string())
        } else if let Some(branch) = non_empty(&reference.branch) {
            GitReference::Branch(branch.to_string())
        } else {
            GitReference::Default
        }
    }

    /// How errors name this reference: `branch 'main'`, `semver range '>=1.0'`…
    pub fn describe(&self) -> String {
        match self {
            GitReference::Default => format!("branch '{DEFAULT_BRANCH}' (the default)"),
            GitReference::Branch(branch) => format!("branch '{branch}'"),
            GitReference::Tag(tag) => format!("tag '{tag}'"),
            GitReference::Semver(range) => format!("semver range '{range}'"),
            GitReference::Name(name) => format!("reference '{name}'"),
            GitReference::Commit {
                commit,
                branch: Some(branch),
            } => format!("commit '{commit}' on branch '{branch}'"),
            GitReference::Commit {
                commit,
                branch: None,
            } => format!("commit '{commit}'"),
        }
    }
}

/// Credentials and trust for a fetch, from the GitRepository's Secret. `Default` is
/// anonymous with the system's trust roots.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct GitAuth {
    pub basic: Option<(String, String)>,
    pub bearer: Option<String>,
    pub ca_pem: Option<Vec<u8>>,
    pub client_cert_pem: Option<Vec<u8>>,
    pub client_key_pem: Option<Vec<u8>>,
    pub ssh_identity: Option<Vec<u8>>,
    pub ssh_known_hosts: Option<Vec<u8>>,
}

impl std::fmt::Debug for GitAuth {
    // Secrets stay out of logs: only which parts are present is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitAuth")
            .field("basic", &self.basic.as_ref().map(|(user, _)| user))
            .field("bearer", &self.bearer.is_some())
            .field("ca_pem", &self.ca_pem.is_some())
            .field("client_cert_pem", &self.client_cert_pem.is_some())
            .field("client_key_pem", &self.client_key_pem.is_some())
            .field("ssh_identity", &self.ssh_identity.is_some())
            .field("ssh_known_hosts", &self.ssh_known_hosts.is_some())
            .finish()
    }
}

impl GitAuth {
    /// Reads Flux's Secret keys: `username`/`password`, `bearerToken`, `ca.crt` (or the
    /// legacy `caFile`; `ca.crt` wins), `tls.crt`/`tls.key`, `identity`, `known_hosts`.
    /// Combinations Flux refuses are refused here too.
    pub fn from_secret_data(data: &BTreeMap<String, Vec<u8>>) -> Result<Self, GitError> {
        let text = |key: &str| -> Result<Option<String>, GitError> {
            data.get(key)
                .map(|bytes| {
                    String::from_utf8(bytes.clone()).map_err(|_| GitError::InvalidSecret {
                        reason: format!("key '{key}' is not UTF-8"),
                    })
                })
                .transpose()
        };
        let bytes = |key: &str| data.get(key).filter(|value| !value.is_empty()).cloned();
        let username = text("username")?.filter(|value| !value.is_empty());
        let password = text("password")?.filter(|value| !value.is_empty());
        let identity = bytes("identity");
        if identity.as_deref().is_some_and(is_encrypted_key) {
            return Err(GitError::InvalidSecret {
                reason: "passphrase-protected SSH keys are not supported: store the 'identity' \
                         unencrypted"
                    .to_string(),
            });
        }
        let basic = match (username, password) {
            (Some(username), Some(password)) => Some((username, password)),
            // Flux accepts a username alone (an empty password).
            (Some(username), None) => Some((username, String::new())),
            // With an SSH key, `password` is the key's passphrase, not a basic-auth password.
            (None, Some(_)) if identity.is_some() => None,
            (None, Some(_)) => {
                return Err(GitError::InvalidSecret {
                    reason: "'password' is set without 'username'".to_string(),
                });
            }
            (None, None) => None,
        };
        let bearer = text("bearerToken")?.filter(|value| !value.is_empty());
        if basic.is_some() && bearer.is_some() {
            return Err(GitError::InvalidSecret {
                reason: "basic auth ('username'/'password') and 'bearerToken' cannot both be set"
                    .to_string(),
            });
        }
        let client_cert_pem = bytes("tls.crt");
        let client_key_pem = bytes("tls.key");
        if client_cert_pem.is_some() != client_key_pem.is_some() {
            return Err(GitError::InvalidSecret {
                reason: "'tls.crt' and 'tls.key' must be set together".to_string(),
            });
        }
        Ok(GitAuth {
            basic,
            bearer,
            ca_pem: bytes("ca.crt").or_else(|| bytes("caFile")),
            client_cert_pem,
            client_key_pem,
            ssh_identity: identity,
            ssh_known_hosts: bytes("known_hosts"),
        })
    }
}

/// Whether an SSH private key is passphrase-protected: the system `ssh` runs in batch
/// mode and cannot ask for the passphrase, so such a key is refused up front.
fn is_encrypted_key(key: &[u8]) -> bool {
    use base64::Engine;
    let text = String::from_utf8_lossy(key);
    if text.contains("ENCRYPTED") {
        return true;
    }
    let Some(body) = text
        .split("-----BEGIN OPENSSH PRIVATE KEY-----")
        .nth(1)
        .and_then(|rest| rest.split("-----END OPENSSH PRIVATE KEY-----").next())
    else {
        return false;
    };
    let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(compact) else {
        return false;
    };
    // openssh-key-v1: the magic, then the cipher name as a length-prefixed string.
    let Some(rest) = decoded.strip_prefix(b"openssh-key-v1\0") else {
        return false;
    };
    let Some(length) = rest
        .get(..4)
        .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
    else {
        return false;
    };
    let length = u32::from_be_bytes(length) as usize;
    rest.get(4..4 + length)
        .is_some_and(|cipher| cipher != b"none")
}

/// One fetch.
#[derive(Debug)]
pub struct FetchRequest<'a> {
    pub url: &'a str,
    pub reference: &'a GitReference,
    pub auth: &'a GitAuth,
    /// Bounds the whole fetch, connection included.
    pub timeout: Duration,
    /// A directory of this source's own: the fetch keeps a bare repository in it and
    /// reuses it next time. One fetch at a time per directory.
    pub work_dir: &'a Path,
}

/// What a fetch produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The commit id, 40 lowercase hex digits (a tag is peeled to its commit).
    pub commit: String,
    /// The revision as Flux writes it: `main@sha1:<hex>`, `v1.2.3@sha1:<hex>`,
    /// `refs/pull/1/head@sha1:<hex>`, or `sha1:<hex>` for a bare commit pin.
    pub revision: String,
    /// The bare repository holding the commit and its tree. Valid until the next fetch
    /// with the same work directory.
    pub repository: PathBuf,
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("invalid repository URL '{url}': {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("invalid credentials Secret: {reason}")]
    InvalidSecret { reason: String },
    #[error("invalid Git reference: {reason}")]
    InvalidReference { reason: String },
    #[error(
        "ssh:// needs 'identity' and 'known_hosts' in the Secret: {missing} missing (host keys are always checked)"
    )]
    SshNotConfigured { missing: String },
    #[error("authentication to '{url}' failed: {message}")]
    AuthenticationFailed { url: String, message: String },
    #[error("{reference} not found in '{url}'")]
    ReferenceNotFound { url: String, reference: String },
    #[error("no tag in '{url}' matches semver range '{range}'")]
    NoSemverMatch { url: String, range: String },
    #[error("invalid semver range")]
    InvalidSemver(#[source] SemverError),
    #[error("commit '{commit}' not found in '{url}' after fetching {fetched}")]
    CommitNotFound {
        url: String,
        commit: String,
        fetched: String,
    },
    #[error("repository '{url}' not found: {message}")]
    RepositoryNotFound { url: String, message: String },
    #[error("the TLS certificate of '{url}' was refused: {message}")]
    UntrustedCertificate { url: String, message: String },
    #[error("the SSH host key of '{url}' is not the one in 'known_hosts': {message}")]
    UntrustedHostKey { url: String, message: String },
    #[error("failed to fetch from '{url}': {message}")]
    Transport { url: String, message: String },
    #[error("fetch from '{url}' did not finish within {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    #[error("failed to prepare the local repository in '{path}': {message}")]
    Storage { path: String, message: String },
}

impl GitError {
    /// Whether the fetch failed before anything was written to the store (a refused login,
    /// a missing reference), so the store can be kept for the next fetch. Anything else may
    /// have been interrupted halfway and the store is discarded.
    fn leaves_store_intact(&self) -> bool {
        matches!(
            self,
            GitError::InvalidUrl { .. }
                | GitError::InvalidSecret { .. }
                | GitError::InvalidReference { .. }
                | GitError::SshNotConfigured { .. }
                | GitError::AuthenticationFailed { .. }
                | GitError::RepositoryNotFound { .. }
                | GitError::ReferenceNotFound { .. }
                | GitError::NoSemverMatch { .. }
                | GitError::InvalidSemver(_)
                | GitError::UntrustedCertificate { .. }
                | GitError::UntrustedHostKey { .. }
        )
    }

    /// Whether trying again later, unchanged, may succeed: network trouble, timeouts and
    /// local disk trouble. Refused credentials, missing references and bad specs need a
    /// change first.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            GitError::Transport { .. } | GitError::Timeout { .. } | GitError::Storage { .. }
        )
    }
}

/// Fetches `request.reference` from `request.url` into the work directory's repository.
pub fn fetch(request: &FetchRequest) -> Result<Fetched, GitError> {
    let scheme = scheme_of(request.url)?;
    if scheme == Scheme::Ssh {
        let missing: Vec<&str> = [
            ("'identity'", request.auth.ssh_identity.is_none()),
            ("'known_hosts'", request.auth.ssh_known_hosts.is_none()),
        ]
        .into_iter()
        .filter_map(|(key, absent)| absent.then_some(key))
        .collect();
        if !missing.is_empty() {
            return Err(GitError::SshNotConfigured {
                missing: missing.join(" and "),
            });
        }
    }
    if let GitReference::Commit { commit, .. } = request.reference
        && !(commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(GitError::InvalidReference {
            reason: format!("commit '{commit}' is not a full 40-digit SHA-1"),
        });
    }
    let work_dir = request.work_dir.to_path_buf();
    std::fs::create_dir_all(&work_dir).map_err(|error| storage(&work_dir, &error))?;
    remove_discarded(&work_dir);

    let ssh_files = match scheme {
        Scheme::Ssh => Some(SshFiles::write(request.auth)?),
        _ => None,
    };
    let job = Job {
        url: request.url.to_string(),
        scheme,
        reference: request.reference.clone(),
        auth: request.auth.clone(),
        timeout: request.timeout,
        repository: work_dir.join(REPOSITORY_DIR),
        interrupt: Arc::new(AtomicBool::new(false)),
        ssh_files,
    };
    let interrupt = Arc::clone(&job.interrupt);
    let (sender, receiver) = std::sync::mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("git-fetch".to_string())
        .spawn(move || {
            let result = job.run();
            // The receiver is gone only when the fetch was abandoned after its timeout.
            let _ = sender.send(result);
        })
        .map_err(|error| storage(&work_dir, &error))?;
    let result = match receiver.recv_timeout(request.timeout) {
        Ok(result) => {
            let _ = worker.join();
            result
        }
        Err(_) => {
            interrupt.store(true, Ordering::SeqCst);
            Err(GitError::Timeout {
                url: request.url.to_string(),
                timeout: request.timeout,
            })
        }
    };
    if let Err(error) = &result
        && !error.leaves_store_intact()
    {
        discard(&work_dir);
    }
    result
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    File,
    Git,
    Http,
    Https,
    Ssh,
}

fn scheme_of(url: &str) -> Result<Scheme, GitError> {
    let invalid = |reason: &str| GitError::InvalidUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid("expected scheme://… (scp-style user@host:path is not accepted)"))?;
    if rest.is_empty() {
        return Err(invalid("nothing after the scheme"));
    }
    match scheme {
        "file" => Ok(Scheme::File),
        "git" => Ok(Scheme::Git),
        "http" => Ok(Scheme::Http),
        "https" => Ok(Scheme::Https),
        "ssh" => Ok(Scheme::Ssh),
        other => Err(invalid(&format!(
            "scheme '{other}' is not one of file, git, http, https, ssh"
        ))),
    }
}

/// A fetch as the worker thread runs it: owned, so an abandoned worker holds nothing of
/// its caller's.
struct Job {
    url: String,
    scheme: Scheme,
    reference: GitReference,
    auth: GitAuth,
    timeout: Duration,
    repository: PathBuf,
    interrupt: Arc<AtomicBool>,
    /// For `ssh://`. Owned by the job so that the Secret's files outlive every ssh process
    /// the worker starts, even after its caller gave up on it.
    ssh_files: Option<SshFiles>,
}

/// The remote ref to fetch and how to name the result.
struct Target {
    /// Full remote ref name, e.g. `refs/heads/main`.
    remote_ref: String,
    /// The commit it points to (peeled), as advertised.
    commit: gix::ObjectId,
}

impl Job {
    fn run(&self) -> Result<Fetched, GitError> {
        let ssh = self.ssh_files.as_ref();
        let repo = self.open_repository(ssh)?;
        let remote_ref = match &self.reference {
            GitReference::Commit { commit, branch } => {
                return self.fetch_commit(&repo, ssh, commit, branch.as_deref());
            }
            GitReference::Default => format!("refs/heads/{DEFAULT_BRANCH}"),
            GitReference::Branch(branch) => format!("refs/heads/{branch}"),
            GitReference::Tag(tag) => format!("refs/tags/{tag}"),
            GitReference::Name(name) => {
                if name.starts_with('/') || name.ends_with('/') {
                    return Err(GitError::InvalidReference {
                        reason: format!("'{name}' may not begin or end with '/'"),
                    });
                }
                name.clone()
            }
            GitReference::Semver(range) => self.select_semver(&repo, range)?,
        };
        let target = self.fetch_ref(&repo, &remote_ref)?;
        let commit = target.commit.to_string();
        let short = target
            .remote_ref
            .strip_prefix("refs/heads/")
            .or_else(|| target.remote_ref.strip_prefix("refs/tags/"))
            .unwrap_or(&target.remote_ref);
        Ok(Fetched {
            revision: format!("{short}@sha1:{commit}"),
            commit,
            repository: self.repository.clone(),
        })
    }

    /// Opens the work directory's repository, or creates it when it is missing, unreadable,
    /// or has grown too many packs. Options isolate it from the host's Git configuration.
    fn open_repository(&self, ssh: Option<&SshFiles>) -> Result<gix::Repository, GitError> {
        let mut overrides: Vec<String> = vec![
            "protocol.version=2".to_string(),
            "gc.auto=0".to_string(),
            format!(
                "gitoxide.http.connectTimeout={}",
                self.timeout.as_millis().max(1)
            ),
        ];
        if let Some(ssh) = ssh {
            overrides.push(format!("core.sshCommand={}", ssh.command(self.timeout)));
            overrides.push("ssh.variant=ssh".to_string());
        }
        let options = || gix::open::Options::isolated().config_overrides(overrides.clone());
        let reusable = is_sound(&self.repository) && pack_count(&self.repository) <= MAX_PACKS;
        if reusable && let Ok(repo) = gix::open_opts(&self.repository, options()) {
            return Ok(repo);
        }
        // An abandoned worker must not recreate a store its caller has moved aside.
        if self.interrupt.load(Ordering::SeqCst) {
            return Err(GitError::Timeout {
                url: self.url.clone(),
                timeout: self.timeout,
            });
        }
        if self.repository.exists() {
            std::fs::remove_dir_all(&self.repository)
                .map_err(|error| storage(&self.repository, &error))?;
        }
        gix::init_bare(&self.repository)
            .map_err(|error| Self::storage_error(&self.repository, &error))?;
        gix::open_opts(&self.repository, options())
            .map_err(|error| Self::storage_error(&self.repository, &error))
    }

    fn storage_error(path: &Path, error: &gix::Error) -> GitError {
        GitError::Storage {
            path: path.display().to_string(),
            message: chain(error),
        }
    }

    /// Lists the remote's tags and picks the highest match of `range`, as Flux does.
    fn select_semver(&self, repo: &gix::Repository, range: &str) -> Result<String, GitError> {
        let constraint = Constraint::parse(range).map_err(GitError::InvalidSemver)?;
        let refs = self.list_refs(repo, "refs/tags/*:refs/driftless/tags/*")?;
        let names: Vec<String> = refs
            .iter()
            .filter_map(|(name, _)| name.strip_prefix("refs/tags/"))
            // `^{}` entries are the peeled twins protocol v0 advertises.
            .filter(|name| !name.ends_with("^{}"))
            .map(str::to_string)
            .collect();
        let (tag, _) = semver::latest_matching(&constraint, names.iter().map(String::as_str))
            .ok_or_else(|| GitError::NoSemverMatch {
                url: self.url.clone(),
                range: range.to_string(),
            })?;
        Ok(format!("refs/tags/{tag}"))
    }

    /// The remote refs matching `refspec`'s source, with the commit each points to.
    fn list_refs(
        &self,
        repo: &gix::Repository,
        refspec: &str,
    ) -> Result<Vec<(String, gix::ObjectId)>, GitError> {
        let remote = self.remote(repo, refspec)?;
        let connection = self.connect(&remote)?;
        let prepare = connection
            .prepare_fetch(gix::progress::Discard, Default::default())
            .map_err(|error| self.remote_error(&error))?;
        let refs = prepare
            .ref_map()
            .mappings
            .iter()
            .filter_map(|mapping| match &mapping.remote {
                gix::remote::fetch::refmap::Source::Ref(reference) => {
                    let (name, target, peeled) = reference.unpack();
                    peeled
                        .or(target)
                        .map(|id| (name.to_string(), id.to_owned()))
                }
                gix::remote::fetch::refmap::Source::ObjectId(_) => None,
            })
            .collect();
        Ok(refs)
    }

    /// Fetches one remote ref shallowly, unless the commit it points to is here already.
    fn fetch_ref(&self, repo: &gix::Repository, remote_ref: &str) -> Result<Target, GitError> {
        let refspec = format!("+{remote_ref}:{FETCHED_REF}");
        let remote = self.remote(repo, &refspec)?;
        let connection = self.connect(&remote)?;
        let prepare = connection
            .prepare_fetch(gix::progress::Discard, Default::default())
            .map_err(|error| self.remote_error(&error))?;
        let advertised =
            prepare
                .ref_map()
                .mappings
                .iter()
                .find_map(|mapping| match &mapping.remote {
                    gix::remote::fetch::refmap::Source::Ref(reference) => {
                        let (name, target, peeled) = reference.unpack();
                        (name == remote_ref)
                            .then(|| peeled.or(target).map(ToOwned::to_owned))
                            .flatten()
                    }
                    gix::remote::fetch::refmap::Source::ObjectId(_) => None,
                });
        let Some(commit) = advertised else {
            return Err(GitError::ReferenceNotFound {
                url: self.url.clone(),
                reference: self.reference.describe(),
            });
        };
        if !has_commit(repo, commit) {
            let depth = std::num::NonZeroU32::MIN;
            prepare
                .with_shallow(gix::remote::fetch::Shallow::DepthAtRemote(depth))
                .receive(gix::progress::Discard, &self.interrupt)
                .map_err(|error| self.remote_error(&error))?;
            if !has_commit(repo, commit) {
                return Err(GitError::CommitNotFound {
                    url: self.url.clone(),
                    commit: commit.to_string(),
                    fetched: remote_ref.to_string(),
                });
            }
        }
        Ok(Target {
            remote_ref: remote_ref.to_string(),
            commit,
        })
    }

    /// A commit pin: nothing to do if the commit is here; otherwise the full history of
    /// its branch, or of every branch, so the commit can be found.
    fn fetch_commit(
        &self,
        repo: &gix::Repository,
        ssh: Option<&SshFiles>,
        commit: &str,
        branch: Option<&str>,
    ) -> Result<Fetched, GitError> {
        let id =
            gix::ObjectId::from_hex(commit.to_ascii_lowercase().as_bytes()).map_err(|error| {
                GitError::InvalidReference {
                    reason: format!("commit '{commit}': {error}"),
                }
            })?;
        let revision = match branch {
            Some(branch) => format!("{branch}@sha1:{id}"),
            None => format!("sha1:{id}"),
        };
        let fetched = Fetched {
            commit: id.to_string(),
            revision,
            repository: self.repository.clone(),
        };
        if has_commit(repo, id) {
            return Ok(fetched);
        }
        // A shallow store would stop the history at its boundary; start from scratch.
        let shallow = repo
            .is_shallow()
            .map_err(|error| Self::storage_error(&self.repository, &error))?;
        let fresh;
        let repo = if shallow {
            std::fs::remove_dir_all(&self.repository)
                .map_err(|error| storage(&self.repository, &error))?;
            fresh = self.open_repository(ssh)?;
            &fresh
        } else {
            repo
        };
        let (refspec, what) = match branch {
            Some(branch) => (
                format!("+refs/heads/{branch}:{FETCHED_REF}"),
                format!("branch '{branch}'"),
            ),
            None => (
                "+refs/heads/*:refs/driftless/heads/*".to_string(),
                "every branch".to_string(),
            ),
        };
        let remote = self.remote(repo, &refspec)?;
        let connection = self.connect(&remote)?;
        let prepare = connection
            .prepare_fetch(gix::progress::Discard, Default::default())
            .map_err(|error| self.remote_error(&error))?;
        if let Some(branch) = branch
            && prepare.ref_map().mappings.is_empty()
        {
            return Err(GitError::ReferenceNotFound {
                url: self.url.clone(),
                reference: format!("branch '{branch}'"),
            });
        }
        prepare
            .receive(gix::progress::Discard, &self.interrupt)
            .map_err(|error| self.remote_error(&error))?;
        if !has_commit(repo, id) {
            return Err(GitError::CommitNotFound {
                url: self.url.clone(),
                commit: commit.to_string(),
                fetched: what,
            });
        }
        Ok(fetched)
    }

    fn remote<'repo>(
        &self,
        repo: &'repo gix::Repository,
        refspec: &str,
    ) -> Result<gix::Remote<'repo>, GitError> {
        let remote = repo
            .remote_at(self.url.as_str())
            .map_err(|error| GitError::InvalidUrl {
                url: self.url.clone(),
                reason: chain(&error),
            })?;
        // The refspec carries the user's branch, tag or ref name.
        remote
            .with_fetch_tags(gix::remote::fetch::Tags::None)
            .with_refspecs(Some(refspec), gix::remote::Direction::Fetch)
            .map_err(|error| GitError::InvalidReference {
                reason: format!("{}: {}", self.reference.describe(), chain(&error)),
            })
    }

    fn connect<'remote, 'repo>(
        &self,
        remote: &'remote gix::Remote<'repo>,
    ) -> Result<
        gix::remote::Connection<
            'remote,
            'static,
            'repo,
            Box<dyn gix::protocol::transport::client::blocking_io::Transport + Send>,
        >,
        GitError,
    > {
        let mut connection = remote
            .connect(gix::remote::Direction::Fetch)
            .map_err(|error| self.remote_error(&error))?;
        if matches!(self.scheme, Scheme::Http | Scheme::Https) {
            let options = self.http_options(remote)?;
            connection.set_transport_options(options);
        }
        let basic = self.auth.basic.clone();
        // Asked for credentials despite a bearer token means the token was refused.
        let refusal = if self.auth.bearer.is_some() {
            "the server refused the bearer token (HTTP 401)"
        } else {
            "the server asks for credentials and the Secret has none"
        };
        connection.set_credentials(move |action| match action {
            gix::credentials::helper::Action::Get(context) => match &basic {
                Some((username, password)) => Ok(Some(gix::credentials::protocol::Outcome {
                    identity: gix::sec::identity::Account {
                        username: username.clone(),
                        password: password.clone(),
                        oauth_refresh_token: None,
                    },
                    next: context.into(),
                })),
                None => Err(gix::error::message(refusal).into()),
            },
            gix::credentials::helper::Action::Store(_)
            | gix::credentials::helper::Action::Erase(_) => Ok(None),
        });
        Ok(connection)
    }

    /// HTTP settings the Git configuration cannot express: the bearer header, our own CA
    /// and client certificate (gix's reqwest client ignores `http.sslCAInfo`).
    fn http_options(&self, remote: &gix::Remote<'_>) -> Result<Box<dyn std::any::Any>, GitError> {
        use gix::protocol::transport::client::blocking_io::http;
        let repo = remote.repo();
        let mut options: http::Options = repo
            .transport_options(self.url.as_str(), None)
            .ok()
            .flatten()
            .and_then(|any| any.downcast::<http::Options>().ok())
            .map(|boxed| *boxed)
            .unwrap_or_default();
        if let Some(token) = &self.auth.bearer {
            options
                .extra_headers
                .push(format!("Authorization: Bearer {token}"));
        }
        options.connect_timeout = Some(self.timeout);
        let ca = match &self.auth.ca_pem {
            Some(pem) => {
                let bundle = reqwest::Certificate::from_pem_bundle(pem).map_err(|error| {
                    GitError::InvalidSecret {
                        reason: format!("'ca.crt' is not a PEM certificate bundle: {error}"),
                    }
                })?;
                if bundle.is_empty() {
                    return Err(GitError::InvalidSecret {
                        reason: "'ca.crt' holds no PEM certificate".to_string(),
                    });
                }
                Some(bundle)
            }
            None => None,
        };
        let identity = match (&self.auth.client_cert_pem, &self.auth.client_key_pem) {
            (Some(cert), Some(key)) => {
                let mut pem = cert.clone();
                pem.push(b'\n');
                pem.extend_from_slice(key);
                Some(reqwest::Identity::from_pem(&pem).map_err(|error| {
                    GitError::InvalidSecret {
                        reason: format!(
                            "'tls.crt'/'tls.key' are not a PEM certificate and key: {error}"
                        ),
                    }
                })?)
            }
            _ => None,
        };
        // reqwest's blocking client gives up on any request after 30 s by default, too
        // short for a large pack within a longer `spec.timeout`, and the right bound for an
        // abandoned worker's last request.
        let timeout = self.timeout;
        let ca = ca.unwrap_or_default();
        let configure: Box<http::reqwest::ConfigureClientFn> = Box::new(move |mut builder| {
            builder = builder.timeout(timeout);
            for certificate in &ca {
                builder = builder.add_root_certificate(certificate.clone());
            }
            if let Some(identity) = &identity {
                builder = builder.identity(identity.clone());
            }
            Ok(builder)
        });
        let backend = http::reqwest::Options {
            configure_client: Some(configure),
            configure_request: None,
        };
        options.backend = Some(Arc::new(Mutex::new(backend)));
        Ok(Box::new(options))
    }

    /// Classifies an error from talking to the remote.
    fn remote_error(&self, error: &gix::Error) -> GitError {
        let mut message = chain(error);
        if self.interrupt.load(Ordering::SeqCst) {
            return GitError::Timeout {
                url: self.url.clone(),
                timeout: self.timeout,
            };
        }
        // gix only sees the stream end ("failed to fill whole buffer"); why it ended is in
        // what ssh, or the git on the other side, wrote to stderr.
        if let Some(said) = self.ssh_files.as_ref().and_then(SshFiles::last_words) {
            message = format!("{said} ({message})");
        }
        let lower = message.to_ascii_lowercase();
        // Checked before credentials: the client refused the server, not the other way
        // round, and only `known_hosts` can fix it.
        if lower.contains("host key verification failed") {
            return GitError::UntrustedHostKey {
                url: self.url.clone(),
                message,
            };
        }
        if error.classify().is_unauthenticated()
            || lower.contains("credentials")
            || lower.contains("authentication")
            || lower.contains("permission denied (publickey")
        {
            return GitError::AuthenticationFailed {
                url: self.url.clone(),
                message,
            };
        }
        // gix's own not-found class also covers ssh failing to connect, so the servers'
        // words decide.
        if lower.contains("http status 404")
            || lower.contains("repository not exported")
            || lower.contains("does not appear to be a git repository")
            || lower.contains("is a valid git directory")
        {
            return GitError::RepositoryNotFound {
                url: self.url.clone(),
                message,
            };
        }
        // rustls' verdict on the server's chain; retrying cannot change it, `ca.crt` can.
        if lower.contains("invalid peer certificate") {
            return GitError::UntrustedCertificate {
                url: self.url.clone(),
                message,
            };
        }
        GitError::Transport {
            url: self.url.clone(),
            message,
        }
    }
}

/// Every message in an error's chain, outermost first, without repeats.
fn chain(error: &gix::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.iter_errors() {
        let text = cause.to_string();
        if !text.is_empty() && !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

fn has_commit(repo: &gix::Repository, id: gix::ObjectId) -> bool {
    repo.find_commit(id)
        .ok()
        .and_then(|commit| commit.tree_id().ok())
        .is_some_and(|tree| repo.has_object(tree))
}

/// Whether a store left by an earlier fetch can be used as it is: its HEAD is intact and
/// no lock is held. Fetches into one work directory never overlap, so a lock file can only
/// be left over from a fetch that died.
fn is_sound(repository: &Path) -> bool {
    let head_ok = std::fs::read(repository.join("HEAD"))
        .is_ok_and(|head| head.starts_with(b"ref: ") || head.len() >= 40);
    head_ok && !has_lock_file(repository, 0)
}

fn has_lock_file(dir: &Path, depth: usize) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.filter_map(Result::ok).any(|entry| {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".lock") {
            return true;
        }
        // Locks live at the top and under refs/; objects/ is large and holds none.
        let descend = if depth == 0 {
            name == "refs"
        } else {
            depth < 16
        };
        descend
            && entry.file_type().is_ok_and(|kind| kind.is_dir())
            && has_lock_file(&entry.path(), depth + 1)
    })
}

fn pack_count(repository: &Path) -> usize {
    std::fs::read_dir(repository.join("objects/pack"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.file_name().to_string_lossy().ends_with(".pack"))
                .count()
        })
        .unwrap_or(0)
}

fn storage(path: &Path, error: &std::io::Error) -> GitError {
    GitError::Storage {
        path: path.display().to_string(),
        message: error.to_string(),
    }
}

/// Moves the repository aside (a rename, so an abandoned worker still writing to it cannot
/// touch the next fetch's repository) and tries to delete it.
fn discard(work_dir: &Path) {
    let repository = work_dir.join(REPOSITORY_DIR);
    if !repository.exists() {
        return;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    let trash = work_dir.join(format!("{TRASH_PREFIX}{}-{nanos}", std::process::id()));
    if std::fs::rename(&repository, &trash).is_ok() {
        let _ = std::fs::remove_dir_all(&trash);
    } else {
        let _ = std::fs::remove_dir_all(&repository);
    }
}

/// Deletes what earlier discards could not (an abandoned worker may have held it).
fn remove_discarded(work_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(work_dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(TRASH_PREFIX)
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The SSH key and known hosts as private files for the system `ssh`, and the file its
/// stderr goes to.
struct SshFiles {
    dir: tempfile::TempDir,
}

/// Where ssh's stderr is collected, next to the Secret's files.
const SSH_STDERR: &str = "ssh.stderr";

impl SshFiles {
    fn write(auth: &GitAuth) -> Result<Self, GitError> {
        let dir = tempfile::Builder::new()
            .prefix("driftless-ssh-")
            .tempdir()
            .map_err(|error| storage(&std::env::temp_dir(), &error))?;
        for (name, content) in [
            ("identity", auth.ssh_identity.as_deref()),
            ("known_hosts", auth.ssh_known_hosts.as_deref()),
        ] {
            let path = dir.path().join(name);
            let mut file = private_file(&path).map_err(|error| storage(&path, &error))?;
            let mut content = content.unwrap_or_default().to_vec();
            // OpenSSH refuses a key whose last line lacks its newline.
            if !content.ends_with(b"\n") {
                content.push(b'\n');
            }
            file.write_all(&content)
                .map_err(|error| storage(&path, &error))?;
        }
        Ok(SshFiles { dir })
    }

    /// The `core.sshCommand` using these files, with host keys always checked. gix runs it
    /// through `sh`, passing its arguments as `"$@"`; stderr is appended to a file so that
    /// errors can be classified (gix drops the lines it does not recognise onto the
    /// controller's own stderr).
    fn command(&self, timeout: Duration) -> String {
        let quote =
            |path: PathBuf| format!("'{}'", path.display().to_string().replace('\'', "'\\''"));
        format!(
            "ssh -i {} -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes \
             -o BatchMode=yes -o ConnectTimeout={} \"$@\" 2>>{}",
            quote(self.dir.path().join("identity")),
            quote(self.dir.path().join("known_hosts")),
            timeout.as_secs().max(1),
            quote(self.dir.path().join(SSH_STDERR)),
        )
    }

    /// The last two lines ssh wrote, without the frame of its warning banner: ssh ends with
    /// its verdict ("Host key verification failed.", "Permission denied (publickey).") or
    /// the remote git's own "fatal: …", and the line before often names the cause.
    fn last_words(&self) -> Option<String> {
        let bytes = std::fs::read(self.dir.path().join(SSH_STDERR)).ok()?;
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('@'))
            .collect();
        let last = lines.get(lines.len().saturating_sub(2)..)?;
        (!last.is_empty()).then(|| last.join(" "))
    }
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(
        branch: Option<&str>,
        tag: Option<&str>,
        semver: Option<&str>,
        name: Option<&str>,
        commit: Option<&str>,
    ) -> GitRepositoryRef {
        GitRepositoryRef {
            branch: branch.map(str::to_string),
            tag: tag.map(str::to_string),
            semver: semver.map(str::to_string),
            name: name.map(str::to_string),
            commit: commit.map(str::to_string),
        }
    }

    #[test]
    fn spec_precedence_is_commit_name_semver_tag_branch() {
        let all = reference(
            Some("dev"),
            Some("v1"),
            Some("1.x"),
            Some("refs/pull/1/head"),
            Some("abc"),
        );
        assert_eq!(
            GitReference::from_spec(Some(&all)),
            GitReference::Commit {
                commit: "abc".into(),
                branch: Some("dev".into())
            }
        );
        let no_commit = reference(
            Some("dev"),
            Some("v1"),
            Some("1.x"),
            Some("refs/pull/1/head"),
            Some(""),
        );
        assert_eq!(
            GitReference::from_spec(Some(&no_commit)),
            GitReference::Name("refs/pull/1/head".into())
        );
        let semver = reference(Some("dev"), Some("v1"), Some("1.x"), None, None);
        assert_eq!(
            GitReference::from_spec(Some(&semver)),
            GitReference::Semver("1.x".into())
        );
        let tag = reference(Some("dev"), Some("v1"), None, None, None);
        assert_eq!(
            GitReference::from_spec(Some(&tag)),
            GitReference::Tag("v1".into())
        );
        let branch = reference(Some("dev"), None, None, None, None);
        assert_eq!(
            GitReference::from_spec(Some(&branch)),
            GitReference::Branch("dev".into())
        );
        assert_eq!(
            GitReference::from_spec(Some(&GitRepositoryRef::default())),
            GitReference::Default
        );
        assert_eq!(GitReference::from_spec(None), GitReference::Default);
    }

    fn secret(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn secrets_are_read_with_flux_keys() {
        let auth = GitAuth::from_secret_data(&secret(&[
            ("username", "git"),
            ("password", "s3cret"),
            ("caFile", "legacy"),
            ("ca.crt", "current"),
        ]))
        .expect("valid secret");
        assert_eq!(auth.basic, Some(("git".into(), "s3cret".into())));
        assert_eq!(auth.ca_pem.as_deref(), Some(&b"current"[..]));
        assert!(
            !format!("{auth:?}").contains("s3cret"),
            "Debug hides secrets"
        );

        let bearer = GitAuth::from_secret_data(&secret(&[("bearerToken", "t0k")])).expect("bearer");
        assert_eq!(bearer.bearer.as_deref(), Some("t0k"));

        let ssh = GitAuth::from_secret_data(&secret(&[
            ("identity", "KEY"),
            ("known_hosts", "HOSTS"),
            ("password", "passphrase"),
        ]))
        .expect("ssh");
        assert_eq!(ssh.basic, None);
        assert_eq!(ssh.ssh_identity.as_deref(), Some(&b"KEY"[..]));

        let user_only =
            GitAuth::from_secret_data(&secret(&[("username", "git")])).expect("username only");
        assert_eq!(user_only.basic, Some(("git".into(), String::new())));

        assert_eq!(
            GitAuth::from_secret_data(&BTreeMap::new()).expect("empty"),
            GitAuth::default()
        );
    }

    #[test]
    fn inconsistent_secrets_are_refused() {
        for pairs in [
            vec![("password", "x")],
            vec![("username", "git"), ("password", "x"), ("bearerToken", "t")],
            vec![("tls.crt", "cert")],
        ] {
            let result = GitAuth::from_secret_data(&secret(&pairs));
            assert!(
                matches!(&result, Err(GitError::InvalidSecret { .. })),
                "{pairs:?} gave {result:?}"
            );
            assert!(result.err().is_some_and(|error| !error.is_retryable()));
        }
    }

    #[test]
    fn ssh_files_are_private_and_host_keys_strict() {
        use std::os::unix::fs::PermissionsExt;
        let auth = GitAuth {
            ssh_identity: Some(b"KEY".to_vec()),
            ssh_known_hosts: Some(b"host ssh-ed25519 AAAA\n".to_vec()),
            ..GitAuth::default()
        };
        let files = SshFiles::write(&auth).expect("write ssh files");
        for (name, content) in [
            ("identity", "KEY\n"),
            ("known_hosts", "host ssh-ed25519 AAAA\n"),
        ] {
            let path = files.dir.path().join(name);
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
            assert_eq!(std::fs::read_to_string(&path).expect("read"), content);
        }
        let command = files.command(Duration::from_secs(30));
        for flag in [
            "-o StrictHostKeyChecking=yes",
            "-o IdentitiesOnly=yes",
            "-o BatchMode=yes",
            "-o ConnectTimeout=30",
        ] {
            assert!(command.contains(flag), "{command}");
        }
        assert!(
            command.ends_with(&format!(
                "\"$@\" 2>>'{}'",
                files.dir.path().join(SSH_STDERR).display()
            )),
            "{command}"
        );
        assert!(command.contains(&format!(
            "-i '{}'",
            files.dir.path().join("identity").display()
        )));
    }

    #[test]
    fn passphrase_protected_keys_are_refused_clearly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = |name: &str, passphrase: &str| {
            let path = dir.path().join(name);
            let status = std::process::Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", passphrase, "-f"])
                .arg(&path)
                .status()
                .expect("run ssh-keygen");
            assert!(status.success());
            std::fs::read(&path).expect("read key")
        };
        let plain = key("plain", "");
        let locked = key("locked", "s3cret");
        assert!(!is_encrypted_key(&plain));
        assert!(is_encrypted_key(&locked));
        let data = |identity: &[u8]| -> BTreeMap<String, Vec<u8>> {
            [
                ("identity".to_string(), identity.to_vec()),
                ("known_hosts".to_string(), b"host ssh-ed25519 AAAA".to_vec()),
                ("password".to_string(), b"s3cret".to_vec()),
            ]
            .into_iter()
            .collect()
        };
        let error = GitAuth::from_secret_data(&data(&locked)).expect_err("an encrypted key");
        assert!(
            error.to_string().contains("passphrase-protected"),
            "{error}"
        );
        assert!(GitAuth::from_secret_data(&data(&plain)).is_ok());
    }

    #[test]
    fn urls_need_a_known_scheme() {
        assert!(scheme_of("git@github.com:org/repo.git").is_err());
        assert!(scheme_of("ftp://host/repo").is_err());
        assert!(scheme_of("https://").is_err());
        assert_eq!(
            scheme_of("ssh://git@host:22/repo.git").ok(),
            Some(Scheme::Ssh)
        );
    }
}
