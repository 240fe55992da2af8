//! The file tree a render reads through, and the confinement of every path to its root.
//!
//! A [`FileTree`] is a read-only view of an artifact: a directory on disk ([`DiskTree`]) or a
//! Git tree in an object store (the sources side implements it). Paths given to a tree are
//! relative to its root, `/`-separated and normalised: no `.` or `..` segments, no leading
//! `/`, and `""` for the root itself. [`join`] builds such paths from a kustomization's
//! directory and a reference written in it, refusing anything that climbs above the root.
//! Symlinks are the tree's business: it follows them inside the root and refuses targets
//! outside it.

use std::collections::HashMap;
use std::fs::Metadata;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
}

/// Why a tree could not serve a path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error("'{path}' does not exist")]
    NotFound { path: String },
    #[error("'{path}' is a symlink to '{target}', which is outside the root")]
    SymlinkEscapes { path: String, target: String },
    #[error("'{path}' is not a directory")]
    NotADirectory { path: String },
    #[error("'{path}' is a directory, not a file")]
    IsADirectory { path: String },
    #[error("'{path}' is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("failed to read '{path}': {message}")]
    Io { path: String, message: String },
}

/// A read-only file tree.
pub trait FileTree: Send + Sync {
    /// What `path` names after following symlinks inside the tree, or `None` if nothing.
    fn entry(&self, path: &str) -> Result<Option<EntryKind>, TreeError>;

    /// The content of the file at `path`.
    fn read(&self, path: &str) -> Result<Vec<u8>, TreeError>;

    /// The names and kinds of the entries of directory `path`, sorted by name (bytewise).
    fn list(&self, path: &str) -> Result<Vec<(String, EntryKind)>, TreeError>;

    /// The path with every symlink resolved, still relative to the root. Load restrictions
    /// compare resolved paths, so a symlink cannot smuggle a file out of a kustomization.
    fn resolve(&self, path: &str) -> Result<String, TreeError>;
}

/// A reference that cannot be turned into a path inside the root.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("'{reference}' is an absolute path; paths must be relative to the kustomization")]
    Absolute { reference: String },
    #[error("'{reference}' (from '{base}') leaves the root of the source")]
    Escapes { base: String, reference: String },
}

/// Joins `reference`, written in directory `base`, into a normalised tree path, refusing
/// absolute references and any that climb above the root.
pub fn join(base: &str, reference: &str) -> Result<String, PathError> {
    if reference.starts_with('/') {
        return Err(PathError::Absolute {
            reference: reference.to_string(),
        });
    }
    let mut segments: Vec<&str> = base
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    for segment in reference.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err(PathError::Escapes {
                        base: base.to_string(),
                        reference: reference.to_string(),
                    });
                }
            }
            other => segments.push(other),
        }
    }
    Ok(segments.join("/"))
}

/// Whether tree path `path` is `dir` or lies below it.
pub fn is_within(dir: &str, path: &str) -> bool {
    dir.is_empty()
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The path of tree path `to` as written from directory `from` (`../base/x.yaml`).
pub fn relative(from: &str, to: &str) -> String {
    let from: Vec<&str> = from.split('/').filter(|s| !s.is_empty()).collect();
    let to: Vec<&str> = to.split('/').filter(|s| !s.is_empty()).collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    parts.extend(&to[common..]);
    parts.join("/")
}

/// The directory part of a tree path (`""` for a top-level entry).
pub fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |index| &path[..index])
}

/// The last segment of a tree path.
pub fn file_name(path: &str) -> &str {
    path.rfind('/').map_or(path, |index| &path[index + 1..])
}

/// A directory on disk as a [`FileTree`].
#[derive(Debug, Clone)]
pub struct DiskTree {
    root: PathBuf,
    max_file_size: u64,
    /// Real locations of the directories looked up so far, by tree path. Resolving every
    /// component of every path again (one readlink each) was most of a small build.
    directories: Arc<Mutex<HashMap<String, Option<PathBuf>>>>,
}

/// Files larger than this are refused unless the tree is told otherwise (10 MiB).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

impl DiskTree {
    /// A tree rooted at `root`, which is resolved (symlinks followed) once here.
    pub fn new(root: &Path) -> Result<Self, TreeError> {
        let root = std::fs::canonicalize(root)
            .map_err(|error| io_error(&root.display().to_string(), &error))?;
        Ok(Self {
            root,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            directories: Arc::default(),
        })
    }

    /// Changes the per-file size limit.
    pub fn with_max_file_size(mut self, limit: u64) -> Self {
        self.max_file_size = limit;
        self
    }

    /// The resolved root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The real location of `path`, which must stay inside the root after symlinks, and
    /// its metadata (symlinks followed).
    fn real(&self, path: &str) -> Result<Option<(PathBuf, Metadata)>, TreeError> {
        let plain = !path.is_empty()
            && path
                .split('/')
                .all(|segment| !matches!(segment, "" | "." | ".."));
        if plain && let Some(directory) = self.real_directory(parent(path))? {
            // The parent is real and inside the root: unless the last segment is itself a
            // symlink, the joined path is the real one.
            let candidate = directory.join(file_name(path));
            match std::fs::symlink_metadata(&candidate) {
                Ok(metadata) if !metadata.file_type().is_symlink() => {
                    return Ok(Some((candidate, metadata)));
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                _ => {}
            }
        }
        let Some(real) = self.canonical(path)? else {
            return Ok(None);
        };
        let metadata = std::fs::metadata(&real).map_err(|error| io_error(path, &error))?;
        Ok(Some((real, metadata)))
    }

    /// [`Self::real`] for a directory, remembered.
    fn real_directory(&self, path: &str) -> Result<Option<PathBuf>, TreeError> {
        if path.is_empty() {
            return Ok(Some(self.root.clone()));
        }
        let known = self
            .directories
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(path)
            .cloned();
        if let Some(known) = known {
            return Ok(known);
        }
        let real = self
            .real(path)?
            .and_then(|(real, metadata)| metadata.is_dir().then_some(real));
        self.directories
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(path.to_string(), real.clone());
        Ok(real)
    }

    /// Resolves `path` with every symlink followed, the slow and general way.
    fn canonical(&self, path: &str) -> Result<Option<PathBuf>, TreeError> {
        let joined = self.root.join(path);
        match std::fs::canonicalize(&joined) {
            Ok(real) => {
                if real.starts_with(&self.root) {
                    Ok(Some(real))
                } else {
                    Err(TreeError::SymlinkEscapes {
                        path: path.to_string(),
                        target: real.display().to_string(),
                    })
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(io_error(path, &error)),
        }
    }

    fn relative(&self, real: &Path) -> String {
        real.strip_prefix(&self.root)
            .map(|rest| {
                rest.components()
                    .filter_map(|component| match component {
                        Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .unwrap_or_default()
    }
}

fn io_error(path: &str, error: &std::io::Error) -> TreeError {
    TreeError::Io {
        path: path.to_string(),
        message: error.to_string(),
    }
}

impl FileTree for DiskTree {
    fn entry(&self, path: &str) -> Result<Option<EntryKind>, TreeError> {
        let Some((_, metadata)) = self.real(path)? else {
            return Ok(None);
        };
        Ok(Some(if metadata.is_dir() {
            EntryKind::Dir
        } else {
            EntryKind::File
        }))
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, TreeError> {
        let (real, metadata) = self.real(path)?.ok_or_else(|| TreeError::NotFound {
            path: path.to_string(),
        })?;
        if metadata.is_dir() {
            return Err(TreeError::IsADirectory {
                path: path.to_string(),
            });
        }
        if metadata.len() > self.max_file_size {
            return Err(TreeError::TooLarge {
                path: path.to_string(),
                size: metadata.len(),
                limit: self.max_file_size,
            });
        }
        std::fs::read(&real).map_err(|error| io_error(path, &error))
    }

    fn list(&self, path: &str) -> Result<Vec<(String, EntryKind)>, TreeError> {
        let (real, metadata) = self.real(path)?.ok_or_else(|| TreeError::NotFound {
            path: path.to_string(),
        })?;
        if !metadata.is_dir() {
            return Err(TreeError::NotADirectory {
                path: path.to_string(),
            });
        }
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&real).map_err(|error| io_error(path, &error))? {
            let entry = entry.map_err(|error| io_error(path, &error))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}/{name}")
            };
            // Entries whose symlinks leave the root are left out of listings; reading them
            // by name still fails with a clear error.
            match self.entry(&child) {
                Ok(Some(kind)) => entries.push((name, kind)),
                Ok(None) | Err(TreeError::SymlinkEscapes { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        Ok(entries)
    }

    fn resolve(&self, path: &str) -> Result<String, TreeError> {
        let (real, _) = self.real(path)?.ok_or_else(|| TreeError::NotFound {
            path: path.to_string(),
        })?;
        Ok(self.relative(&real))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_normalises_and_confines() {
        assert_eq!(
            join(
                "apps/my-app/overlays/production",
                "../../base/deployment.yaml"
            ),
            Ok("apps/my-app/base/deployment.yaml".into())
        );
        assert_eq!(join("", "./a/./b/"), Ok("a/b".into()));
        assert_eq!(join("a", ".."), Ok(String::new()));
        assert!(matches!(join("a", "../.."), Err(PathError::Escapes { .. })));
        assert!(matches!(
            join("a", "/etc/passwd"),
            Err(PathError::Absolute { .. })
        ));
    }

    #[test]
    fn relative_paths_climb_with_dots() {
        assert_eq!(
            relative("prod", "base/namespace.yaml"),
            "../base/namespace.yaml"
        );
        assert_eq!(relative("prod", "prod/service.yaml"), "service.yaml");
        assert_eq!(relative("", "a/b.yaml"), "a/b.yaml");
    }

    #[test]
    fn within_compares_whole_segments() {
        assert!(is_within("app", "app/x.yaml"));
        assert!(is_within("app", "app"));
        assert!(!is_within("app", "apple/x.yaml"));
        assert!(is_within("", "anything"));
    }

    #[test]
    fn disk_tree_refuses_symlinks_out_of_the_root() {
        let scratch = std::env::temp_dir().join(format!("driftless-tree-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(scratch.join("root/dir")).expect("mkdir");
        std::fs::write(scratch.join("outside.yaml"), "secret").expect("write");
        std::fs::write(scratch.join("root/dir/in.yaml"), "inside").expect("write");
        std::os::unix::fs::symlink("../outside.yaml", scratch.join("root/escape.yaml"))
            .expect("symlink");
        std::os::unix::fs::symlink("dir/in.yaml", scratch.join("root/alias.yaml"))
            .expect("symlink");

        let tree = DiskTree::new(&scratch.join("root")).expect("tree");
        assert_eq!(tree.read("alias.yaml").expect("read"), b"inside");
        assert_eq!(tree.resolve("alias.yaml").expect("resolve"), "dir/in.yaml");
        assert!(matches!(
            tree.read("escape.yaml"),
            Err(TreeError::SymlinkEscapes { .. })
        ));
        let names: Vec<String> = tree
            .list("")
            .expect("list")
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, vec!["alias.yaml", "dir"]);
        assert_eq!(tree.entry("missing").expect("entry"), None);
        std::fs::remove_dir_all(&scratch).expect("cleanup");
    }
}
