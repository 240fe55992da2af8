//! The artifact store: every source's current and previous artifacts, as reference-counted
//! handles and as tarballs under `--storage`, which the HTTP server hands out.
//!
//! Layout: `<storage>/gitrepository/<namespace>/<name>/<digest hex>.tar.gz`, the path that
//! `status.artifact.path` names and `status.artifact.url` serves. A tarball is written to a
//! temporary file and renamed, so a reader never sees half of one, and a failed write leaves
//! the previous artifact in place.
//!
//! Garbage collection keeps the newest [`KEEP`] artifacts of a source and never drops one
//! that a render still holds: a handle is an `Arc`, and an artifact whose count shows
//! another holder is kept until a later collection finds it free.
//!
//! Must not: fetch, or know about Kubernetes beyond the source's key.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use crate::render::tree::{EntryKind, FileTree, TreeError};
use crate::source::artifact::{Artifact, ArtifactError};

/// How many artifacts of one source are kept (Flux's `--artifact-retention-records`).
pub const KEEP: usize = 2;

/// A source, by kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceKey {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl SourceKey {
    pub fn git_repository(namespace: &str, name: &str) -> Self {
        Self {
            kind: "GitRepository".to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    /// The directory of this source's artifacts, relative to the storage root.
    fn directory(&self) -> String {
        format!(
            "{}/{}/{}",
            self.kind.to_lowercase(),
            self.namespace,
            self.name
        )
    }
}

impl std::fmt::Display for SourceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

/// One stored artifact: its files (for renders) and where its tarball lives.
#[derive(Debug)]
pub struct StoredArtifact {
    pub source: SourceKey,
    /// Flux's revision: `main@sha1:<hex>`, `v1.2.3@sha1:<hex>`, `sha1:<hex>`.
    pub revision: String,
    /// The tarball's path below the storage root (`status.artifact.path`).
    pub path: String,
    /// When it was stored (`status.artifact.lastUpdateTime`).
    pub stored_at: k8s_openapi::jiff::Timestamp,
    /// The `spec.ignore` it was built with: with the commit, all that decides its content.
    pub ignore: Option<String>,
    /// Shared by every source whose commit and `spec.ignore` are the same.
    pub artifact: Arc<Artifact>,
}

impl StoredArtifact {
    pub fn digest(&self) -> &str {
        self.artifact.digest()
    }

    pub fn size(&self) -> u64 {
        self.artifact.size()
    }
}

/// The handle renders receive: cheap to clone, and the store keeps the artifact (and its
/// tarball) for as long as one exists.
pub type ArtifactHandle = Arc<StoredArtifact>;

impl FileTree for StoredArtifact {
    fn entry(&self, path: &str) -> Result<Option<EntryKind>, TreeError> {
        self.artifact.entry(path)
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, TreeError> {
        self.artifact.read(path)
    }

    fn list(&self, path: &str) -> Result<Vec<(String, EntryKind)>, TreeError> {
        self.artifact.list(path)
    }

    fn resolve(&self, path: &str) -> Result<String, TreeError> {
        self.artifact.resolve(path)
    }
}

/// Why an artifact could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("failed to write artifact '{path}': {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    /// Disk trouble passes, or an operator frees space: always worth another try.
    pub fn is_retryable(&self) -> bool {
        true
    }
}

/// What decides an artifact's content: the commit and `spec.ignore`.
type ContentKey = (String, Option<String>);

/// The store shared by every source actor and the HTTP server.
#[derive(Debug)]
pub struct ArtifactStore {
    root: PathBuf,
    /// Each source's artifacts, oldest first.
    sources: Mutex<HashMap<SourceKey, Vec<ArtifactHandle>>>,
    /// Artifacts by commit and `spec.ignore`, while any source holds them: many sources on
    /// one repository (one per team or cluster) share one copy of its files.
    built: Mutex<HashMap<ContentKey, Weak<Artifact>>>,
}

impl ArtifactStore {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            sources: Mutex::default(),
            built: Mutex::default(),
        }
    }

    /// The artifact of `commit` (in the bare `repository`) with `ignore` applied: the one
    /// another source already holds, or a new one.
    pub fn build(
        &self,
        repository: &Path,
        commit: &str,
        ignore: Option<&str>,
    ) -> Result<Arc<Artifact>, ArtifactError> {
        let key: ContentKey = (commit.to_string(), ignore.map(str::to_string));
        if let Some(shared) = self
            .built
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .and_then(Weak::upgrade)
        {
            return Ok(shared);
        }
        let artifact = Arc::new(Artifact::from_commit(repository, commit, ignore)?);
        let mut built = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        // Another source may have built the same one meanwhile: keep only one copy.
        if let Some(shared) = built.get(&key).and_then(Weak::upgrade) {
            return Ok(shared);
        }
        built.retain(|_, artifact| artifact.strong_count() > 0);
        built.insert(key, Arc::downgrade(&artifact));
        Ok(artifact)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a source's Git objects are kept between fetches.
    pub fn repository_dir(&self, source: &SourceKey) -> PathBuf {
        self.root.join("repositories").join(source.directory())
    }

    /// The newest artifact of `source`, if any.
    pub fn current(&self, source: &SourceKey) -> Option<ArtifactHandle> {
        self.lock()
            .get(source)
            .and_then(|list| list.last().cloned())
    }

    /// Writes `artifact`'s tarball and makes it the newest of `source`; then collects
    /// what is no longer needed. Storing the digest the source already has returns the
    /// existing handle.
    pub fn store(
        &self,
        source: &SourceKey,
        revision: &str,
        ignore: Option<&str>,
        artifact: Arc<Artifact>,
    ) -> Result<ArtifactHandle, StoreError> {
        if let Some(current) = self.current(source)
            && current.digest() == artifact.digest()
            && current.revision == revision
        {
            return Ok(current);
        }
        let hex = artifact
            .digest()
            .strip_prefix("sha256:")
            .unwrap_or(artifact.digest())
            .to_string();
        let relative = format!("{}/{hex}.tar.gz", source.directory());
        let target = self.root.join(&relative);
        let failed = |source| StoreError::Write {
            path: target.display().to_string(),
            source,
        };
        let directory = target.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&directory).map_err(failed)?;
        let mut temporary = tempfile::NamedTempFile::new_in(&directory).map_err(failed)?;
        {
            let mut writer = std::io::BufWriter::new(temporary.as_file_mut());
            artifact.write_tarball(&mut writer).map_err(failed)?;
            writer.flush().map_err(failed)?;
        }
        temporary
            .persist(&target)
            .map_err(|error| failed(error.error))?;
        let handle = Arc::new(StoredArtifact {
            source: source.clone(),
            revision: revision.to_string(),
            path: relative,
            stored_at: k8s_openapi::jiff::Timestamp::now(),
            ignore: ignore.map(str::to_string),
            artifact,
        });
        self.lock()
            .entry(source.clone())
            .or_default()
            .push(Arc::clone(&handle));
        self.collect(source);
        Ok(handle)
    }

    /// Drops the artifacts of `source` beyond the newest [`KEEP`] that nothing else holds.
    pub fn collect(&self, source: &SourceKey) {
        let removed: Vec<ArtifactHandle> = {
            let mut sources = self.lock();
            let Some(list) = sources.get_mut(source) else {
                return;
            };
            let surplus = list.len().saturating_sub(KEEP);
            let mut removed = Vec::new();
            let mut index = 0;
            while index < list.len() && removed.len() < surplus {
                // One count is the store's own: more means a render holds it.
                if Arc::strong_count(&list[index]) == 1 {
                    removed.push(list.remove(index));
                } else {
                    index += 1;
                }
            }
            removed
        };
        for artifact in removed {
            // A tarball shared by a newer artifact of the same digest stays.
            if self
                .lock()
                .get(source)
                .is_some_and(|list| list.iter().any(|kept| kept.path == artifact.path))
            {
                continue;
            }
            if let Err(error) = std::fs::remove_file(self.root.join(&artifact.path)) {
                tracing::warn!(source = %source, path = artifact.path, %error, "failed to remove an old artifact");
            }
        }
    }

    /// Forgets `source` and deletes its tarballs and Git objects (the object was deleted).
    pub fn remove_source(&self, source: &SourceKey) {
        self.lock().remove(source);
        for directory in [
            self.root.join(source.directory()),
            self.repository_dir(source),
        ] {
            if let Err(error) = std::fs::remove_dir_all(&directory)
                && error.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(source = %source, path = %directory.display(), %error, "failed to remove a deleted source's storage");
            }
        }
    }

    /// Deletes the storage of GitRepositories that are not in `known` (deleted while the
    /// controller was down), within `namespace` when the controller watches only one.
    pub fn remove_unknown(&self, known: &HashSet<SourceKey>, namespace: Option<&str>) {
        for base in [
            self.root.join("gitrepository"),
            self.root.join("repositories").join("gitrepository"),
        ] {
            let Ok(namespaces) = std::fs::read_dir(&base) else {
                continue;
            };
            for entry in namespaces.flatten() {
                let found = entry.file_name().to_string_lossy().into_owned();
                if namespace.is_some_and(|watched| watched != found) {
                    continue;
                }
                let Ok(names) = std::fs::read_dir(entry.path()) else {
                    continue;
                };
                for name in names.flatten() {
                    let key =
                        SourceKey::git_repository(&found, &name.file_name().to_string_lossy());
                    if !known.contains(&key) {
                        self.remove_source(&key);
                    }
                }
            }
        }
    }

    /// The stored tarball at `path` (relative to the root), if it belongs to a known
    /// artifact: the HTTP server serves nothing else from the storage directory.
    pub fn tarball(&self, path: &str) -> Option<PathBuf> {
        let known = self
            .lock()
            .values()
            .flatten()
            .any(|artifact| artifact.path == path);
        known.then(|| self.root.join(path))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SourceKey, Vec<ArtifactHandle>>> {
        self.sources.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
