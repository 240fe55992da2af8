//! The artifact of a GitRepository: the files of one commit that Flux's ignore rules keep,
//! read straight from the object store (no checkout), served to renders as a
//! [`FileTree`] and packed as a gzip-compressed tarball with its digest.
//!
//! What is kept follows source-controller's archiving:
//! - ignore rules: every `.sourceignore` in the tree (each anchored at its directory) plus
//!   `spec.ignore`. When there are none at all, Flux's default exclusions apply; as soon
//!   as there is one pattern, only the VCS exclusions (`.git/`, `.gitignore`,
//!   `.gitmodules`, `.gitattributes`) are added to them (source-controller's
//!   `SourceIgnoreFilter`). Every file is matched on its own path, so `!` can re-include a
//!   file below an excluded directory, as in Flux;
//! - symlinks are dropped, all of them: Flux archives a checkout with `filepath.Walk` and
//!   skips everything that is neither a regular file nor a directory, so no symlink ever
//!   reaches a Kustomization (a link out of the tree, in particular, can never be read);
//! - submodule entries (gitlinks) are skipped: `spec.recurseSubmodules` is not supported.
//!
//! The tarball is deterministic, so the digest names the content: entries in the order of
//! a depth-first walk with the names of each directory sorted bytewise (as Go's
//! `filepath.Walk`), a directory entry before its contents (only directories that hold a
//! kept file), GNU headers with mode 0755 for directories and executables and 0644 for
//! other files, uid/gid 0, no user or group names, mtime 0; then gzip at the default level
//! with mtime 0 and OS "unknown". `digest` is `sha256:` and the hex SHA-256 of exactly those
//! bytes, `size` their length. The bytes are stable for a given build of driftless; they
//! are not byte-for-byte Flux's (different tar and gzip writers), and a new compression
//! library version may change them, which only means one extra "new artifact".
//!
//! File contents are held in memory once read: the commit's kept blobs are read in
//! `from_commit`, so later reads and tarballs need neither the repository nor its lock, and
//! the next fetch may replace or discard the repository freely (reading lazily would tie
//! every render to a store that a failed fetch deletes). The cost is memory equal to the
//! kept files' size. Measured on this 2-core machine, release build, for a 2,000-file tree
//! of YAML files (730 KB of blobs, 390 KB gzipped): `from_commit` takes ≈ 50 ms, of which
//! the tarball and its digest ≈ 26 ms and walking the tree plus reading every blob from the
//! object store ≈ 6 ms; reading all 2,000 files back from memory takes ≈ 0.2 ms, against
//! ≈ 6 ms (≈ 3 µs a blob) if every read went to the object store. A debug build is about
//! five times slower (≈ 270 ms for `from_commit`).
//!
//! Must not: fetch, write to disk, or know about Kubernetes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use super::ignore::{Matcher, Pattern, default_patterns, load_ignore_files, read_patterns};
use crate::render::tree::{DEFAULT_MAX_FILE_SIZE, EntryKind, FileTree, TreeError};

/// The `.git/`, `.gitignore`, `.gitmodules`, `.gitattributes` exclusions, which Flux keeps
/// even when ignore patterns replace the other defaults.
const VCS_PATTERNS: &str = super::ignore::EXCLUDE_VCS;

/// Why an artifact could not be built from a commit.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("failed to open repository '{path}': {message}")]
    OpenRepository { path: String, message: String },
    #[error("commit '{commit}' is not in repository '{path}'")]
    CommitNotFound { path: String, commit: String },
    #[error("failed to read {what} of commit '{commit}': {message}")]
    ReadObject {
        commit: String,
        what: String,
        message: String,
    },
    #[error("commit '{commit}' holds a path driftless cannot serve: {path:?}")]
    InvalidPath { commit: String, path: String },
    #[error("failed to read the ignore files of commit '{commit}'")]
    IgnoreFiles {
        commit: String,
        #[source]
        source: TreeError,
    },
    #[error("failed to write the tarball")]
    Archive(#[source] std::io::Error),
}

impl ArtifactError {
    /// Whether the same call may succeed later: reading the local store can fail for
    /// passing reasons (disk, a concurrent repack); a missing commit or an unservable path
    /// will not change.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ArtifactError::OpenRepository { .. }
                | ArtifactError::ReadObject { .. }
                | ArtifactError::Archive(_)
        )
    }
}

/// One kept file.
#[derive(Debug, Clone)]
struct File {
    content: Arc<[u8]>,
    executable: bool,
}

/// The kept files of a commit, with the tarball's digest and size.
#[derive(Debug, Clone)]
pub struct Artifact {
    files: BTreeMap<String, File>,
    /// Each directory (`""` is the root) with its entries sorted bytewise.
    directories: BTreeMap<String, Vec<(String, EntryKind)>>,
    digest: String,
    size: u64,
}

impl Artifact {
    /// Reads commit `commit` (40 hex digits) from the bare repository at `repository`,
    /// keeping what Flux's ignore rules keep given `ignore` (`spec.ignore`).
    pub fn from_commit(
        repository: &Path,
        commit: &str,
        ignore: Option<&str>,
    ) -> Result<Artifact, ArtifactError> {
        let all = read_commit(repository, commit)?;
        let unfiltered = Artifact::from_files(all);
        let mut patterns: Vec<Pattern> =
            load_ignore_files(&unfiltered, "").map_err(|source| ArtifactError::IgnoreFiles {
                commit: commit.to_string(),
                source,
            })?;
        if let Some(text) = ignore {
            patterns.extend(read_patterns(text, &[]));
        }
        let matcher = if patterns.is_empty() {
            Matcher::new(default_patterns(&[]))
        } else {
            let mut all: Vec<Pattern> = VCS_PATTERNS
                .split(',')
                .map(|p| Pattern::parse(p, &[]))
                .collect();
            all.extend(patterns);
            Matcher::new(all)
        };
        let kept: BTreeMap<String, File> = unfiltered
            .files
            .into_iter()
            .filter(|(path, _)| !matcher.is_ignored(path, false))
            .collect();
        let mut artifact = Artifact::from_files(kept);
        let mut counter = DigestWriter::new();
        artifact
            .write_tarball(&mut counter)
            .map_err(ArtifactError::Archive)?;
        let (digest, size) = counter.finish();
        artifact.digest = digest;
        artifact.size = size;
        Ok(artifact)
    }

    fn from_files(files: BTreeMap<String, File>) -> Artifact {
        let mut directories: BTreeMap<String, BTreeSet<(String, bool)>> = BTreeMap::new();
        directories.insert(String::new(), BTreeSet::new());
        for path in files.keys() {
            let mut parent = String::new();
            let segments: Vec<&str> = path.split('/').collect();
            for (index, segment) in segments.iter().enumerate() {
                let is_file = index == segments.len() - 1;
                directories
                    .entry(parent.clone())
                    .or_default()
                    .insert((segment.to_string(), !is_file));
                if !is_file {
                    if !parent.is_empty() {
                        parent.push('/');
                    }
                    parent.push_str(segment);
                }
            }
        }
        let directories = directories
            .into_iter()
            .map(|(dir, entries)| {
                let mut entries: Vec<(String, EntryKind)> = entries
                    .into_iter()
                    .map(|(name, is_dir)| {
                        (
                            name,
                            if is_dir {
                                EntryKind::Dir
                            } else {
                                EntryKind::File
                            },
                        )
                    })
                    .collect();
                entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                (dir, entries)
            })
            .collect();
        Artifact {
            files,
            directories,
            digest: String::new(),
            size: 0,
        }
    }

    /// `sha256:<hex>` of the bytes [`Self::write_tarball`] writes.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The length of the tarball in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The kept files' paths, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Writes the gzip-compressed tarball described in the module documentation.
    pub fn write_tarball(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let gzip = flate2::GzBuilder::new()
            .mtime(0)
            .operating_system(255)
            .write(out, flate2::Compression::default());
        let mut builder = tar::Builder::new(gzip);
        self.append_directory(&mut builder, "")?;
        let gzip = builder.into_inner()?;
        gzip.finish()?.flush()
    }

    fn append_directory<W: Write>(
        &self,
        builder: &mut tar::Builder<W>,
        dir: &str,
    ) -> std::io::Result<()> {
        let Some(entries) = self.directories.get(dir) else {
            return Ok(());
        };
        for (name, kind) in entries {
            let path = if dir.is_empty() {
                name.clone()
            } else {
                format!("{dir}/{name}")
            };
            let mut header = tar::Header::new_gnu();
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            match kind {
                EntryKind::Dir => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(0o755);
                    header.set_size(0);
                    builder.append_data(&mut header, format!("{path}/"), std::io::empty())?;
                    self.append_directory(builder, &path)?;
                }
                EntryKind::File => {
                    let Some(file) = self.files.get(&path) else {
                        continue;
                    };
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(if file.executable { 0o755 } else { 0o644 });
                    header.set_size(file.content.len() as u64);
                    builder.append_data(&mut header, &path, &file.content[..])?;
                }
            }
        }
        Ok(())
    }
}

impl FileTree for Artifact {
    fn entry(&self, path: &str) -> Result<Option<EntryKind>, TreeError> {
        if self.files.contains_key(path) {
            Ok(Some(EntryKind::File))
        } else if self.directories.contains_key(path) {
            Ok(Some(EntryKind::Dir))
        } else {
            Ok(None)
        }
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, TreeError> {
        match self.files.get(path) {
            Some(file) if file.content.len() as u64 > DEFAULT_MAX_FILE_SIZE => {
                Err(TreeError::TooLarge {
                    path: path.to_string(),
                    size: file.content.len() as u64,
                    limit: DEFAULT_MAX_FILE_SIZE,
                })
            }
            Some(file) => Ok(file.content.to_vec()),
            None if self.directories.contains_key(path) => Err(TreeError::IsADirectory {
                path: path.to_string(),
            }),
            None => Err(TreeError::NotFound {
                path: path.to_string(),
            }),
        }
    }

    fn list(&self, path: &str) -> Result<Vec<(String, EntryKind)>, TreeError> {
        match self.directories.get(path) {
            Some(entries) => Ok(entries.clone()),
            None if self.files.contains_key(path) => Err(TreeError::NotADirectory {
                path: path.to_string(),
            }),
            None => Err(TreeError::NotFound {
                path: path.to_string(),
            }),
        }
    }

    fn resolve(&self, path: &str) -> Result<String, TreeError> {
        // No symlinks are kept, so every path is already its own resolution.
        match self.entry(path)? {
            Some(_) => Ok(path.to_string()),
            None => Err(TreeError::NotFound {
                path: path.to_string(),
            }),
        }
    }
}

/// Every regular and executable file of the commit's tree, read into memory.
fn read_commit(repository: &Path, commit: &str) -> Result<BTreeMap<String, File>, ArtifactError> {
    let read_error = |what: &str, message: String| ArtifactError::ReadObject {
        commit: commit.to_string(),
        what: what.to_string(),
        message,
    };
    let repo = gix::open_opts(repository, gix::open::Options::isolated()).map_err(|error| {
        ArtifactError::OpenRepository {
            path: repository.display().to_string(),
            message: error.to_string(),
        }
    })?;
    let not_found = || ArtifactError::CommitNotFound {
        path: repository.display().to_string(),
        commit: commit.to_string(),
    };
    let id = gix::ObjectId::from_hex(commit.as_bytes()).map_err(|_| not_found())?;
    let commit_object = repo.find_commit(id).map_err(|_| not_found())?;
    let tree = commit_object
        .tree()
        .map_err(|error| read_error("the tree", error.to_string()))?;
    let mut recorder = gix::traverse::tree::Recorder::default();
    tree.traverse()
        .breadthfirst(&mut recorder)
        .map_err(|error| read_error("the tree", error.to_string()))?;
    let mut files = BTreeMap::new();
    for entry in recorder.records {
        let executable = match entry.mode.kind() {
            gix::objs::tree::EntryKind::Blob => false,
            gix::objs::tree::EntryKind::BlobExecutable => true,
            // Trees are implied by their files; links and submodules are not archived.
            gix::objs::tree::EntryKind::Tree
            | gix::objs::tree::EntryKind::Link
            | gix::objs::tree::EntryKind::Commit => continue,
        };
        let path =
            String::from_utf8(entry.filepath.to_vec()).map_err(|_| ArtifactError::InvalidPath {
                commit: commit.to_string(),
                path: entry.filepath.to_string(),
            })?;
        // Git itself refuses such names; a crafted tree could still carry them, and they
        // must never reach a tarball.
        if path
            .split('/')
            .any(|segment| matches!(segment, "" | "." | "..") || segment.contains('\0'))
        {
            return Err(ArtifactError::InvalidPath {
                commit: commit.to_string(),
                path,
            });
        }
        let blob = repo
            .find_object(entry.oid)
            .map_err(|error| read_error(&format!("'{path}'"), error.to_string()))?;
        files.insert(
            path,
            File {
                content: Arc::from(blob.data.as_slice()),
                executable,
            },
        );
    }
    Ok(files)
}

/// Hashes and counts what is written through it.
struct DigestWriter {
    context: aws_lc_rs::digest::Context,
    size: u64,
}

impl DigestWriter {
    fn new() -> Self {
        DigestWriter {
            context: aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256),
            size: 0,
        }
    }

    fn finish(self) -> (String, u64) {
        let digest = self.context.finish();
        let hex: String = digest
            .as_ref()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        (format!("sha256:{hex}"), self.size)
    }
}

impl Write for DigestWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.context.update(bytes);
        self.size += bytes.len() as u64;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
