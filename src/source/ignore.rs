//! Ignore rules as Flux applies them to sources: gitignore-style patterns from
//! `.sourceignore` files (each anchored at its directory), from `spec.ignore`, and Flux's
//! default exclusions (VCS metadata, images and archives, CI configuration, `.sops.yaml`…).
//!
//! The semantics are those of fluxcd/pkg `sourceignore` (go-git's gitignore): a pattern
//! without a slash matches a name at any depth below its directory, a pattern with one is
//! matched segment by segment from its directory, `**` spans directories, a trailing `/`
//! means directories only, `!` re-includes, and the last matching pattern wins.

use super::super::render::tree::{EntryKind, FileTree, TreeError};

/// The name of the per-directory ignore file.
pub const IGNORE_FILE: &str = ".sourceignore";

/// Version-control metadata, always excluded when defaults apply.
pub const EXCLUDE_VCS: &str = ".git/,.gitignore,.gitmodules,.gitattributes";
/// Binary artefacts.
pub const EXCLUDE_EXT: &str = "*.jpg,*.jpeg,*.gif,*.png,*.wmv,*.flv,*.tar.gz,*.zip";
/// CI configuration.
pub const EXCLUDE_CI: &str = ".github/,.circleci/,.travis.yml,.gitlab-ci.yml,appveyor.yml,.drone.yml,cloudbuild.yaml,codeship-services.yml,codeship-steps.yml";
/// Tool configuration that is never a manifest.
pub const EXCLUDE_EXTRA: &str = "**/.goreleaser.yml,**/.sops.yaml,**/.flux.yaml";

/// What one pattern says about a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchResult {
    NoMatch,
    Exclude,
    Include,
}

/// One parsed pattern and the directory (domain) it is anchored at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    domain: Vec<String>,
    segments: Vec<String>,
    inclusion: bool,
    dir_only: bool,
    is_glob: bool,
}

impl Pattern {
    /// Parses a pattern written in directory `domain` (path segments from the root).
    pub fn parse(text: &str, domain: &[String]) -> Self {
        let mut text = text;
        let inclusion = text.starts_with('!');
        if inclusion {
            text = &text[1..];
        }
        let trimmed;
        if !text.ends_with("\\ ") {
            trimmed = text.trim_end_matches(' ');
            text = trimmed;
        }
        let dir_only = text.ends_with('/');
        if dir_only {
            text = &text[..text.len() - 1];
        }
        Self {
            domain: domain.to_vec(),
            is_glob: text.contains('/'),
            segments: text.split('/').map(str::to_string).collect(),
            inclusion,
            dir_only,
        }
    }

    /// Matches a path (segments from the root).
    pub fn matches(&self, path: &[&str], is_dir: bool) -> MatchResult {
        if path.len() <= self.domain.len()
            || self
                .domain
                .iter()
                .zip(path)
                .any(|(domain, segment)| domain != segment)
        {
            return MatchResult::NoMatch;
        }
        let rest = &path[self.domain.len()..];
        let matched = if self.is_glob {
            self.glob_match(rest, is_dir)
        } else {
            self.name_match(rest, is_dir)
        };
        match (matched, self.inclusion) {
            (false, _) => MatchResult::NoMatch,
            (true, true) => MatchResult::Include,
            (true, false) => MatchResult::Exclude,
        }
    }

    fn name_match(&self, path: &[&str], is_dir: bool) -> bool {
        for (index, name) in path.iter().enumerate() {
            match glob(&self.segments[0], name) {
                None => return false,
                Some(false) => continue,
                Some(true) => {
                    return !(self.dir_only && !is_dir && index == path.len() - 1);
                }
            }
        }
        false
    }

    fn glob_match(&self, path: &[&str], is_dir: bool) -> bool {
        let mut path = path;
        let mut matched = false;
        let mut can_traverse = false;
        for (index, segment) in self.segments.iter().enumerate() {
            if segment.is_empty() {
                can_traverse = false;
                continue;
            }
            if segment == "**" {
                if index == self.segments.len() - 1 {
                    break;
                }
                can_traverse = true;
                continue;
            }
            if segment.contains("**") || path.is_empty() {
                return false;
            }
            if can_traverse {
                can_traverse = false;
                while let Some((first, remaining)) = path.split_first() {
                    path = remaining;
                    match glob(segment, first) {
                        None => return false,
                        Some(true) => {
                            matched = true;
                            break;
                        }
                        Some(false) if path.is_empty() => matched = false,
                        Some(false) => {}
                    }
                }
            } else {
                match glob(segment, path[0]) {
                    Some(true) => {
                        matched = true;
                        path = &path[1..];
                    }
                    _ => return false,
                }
            }
        }
        if matched && self.dir_only && !is_dir && path.is_empty() {
            matched = false;
        }
        matched
    }
}

/// Go's `filepath.Match` for one path segment: `*`, `?`, `[...]` classes (with `^`
/// negation and ranges) and `\` escapes. `None` for a malformed pattern.
pub fn glob(pattern: &str, name: &str) -> Option<bool> {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    glob_from(&pattern, &name)
}

fn glob_from(pattern: &[char], name: &[char]) -> Option<bool> {
    let Some((&first, rest)) = pattern.split_first() else {
        return Some(name.is_empty());
    };
    match first {
        '*' => {
            for start in 0..=name.len() {
                if glob_from(rest, &name[start..])? {
                    return Some(true);
                }
            }
            Some(false)
        }
        '?' => match name.split_first() {
            Some((_, name_rest)) => glob_from(rest, name_rest),
            None => Some(false),
        },
        '[' => {
            let (matches_class, consumed) = class(rest, name.first().copied())?;
            match name.split_first() {
                Some((_, name_rest)) if matches_class => glob_from(&rest[consumed..], name_rest),
                _ => Some(false),
            }
        }
        '\\' => {
            let (&escaped, rest) = rest.split_first()?;
            match name.split_first() {
                Some((&c, name_rest)) if c == escaped => glob_from(rest, name_rest),
                _ => Some(false),
            }
        }
        literal => match name.split_first() {
            Some((&c, name_rest)) if c == literal => glob_from(rest, name_rest),
            _ => Some(false),
        },
    }
}

/// Parses a `[...]` class (after the `[`); returns whether `c` matches and how many pattern
/// characters the class used, including the closing `]`.
fn class(pattern: &[char], c: Option<char>) -> Option<(bool, usize)> {
    let mut index = 0;
    let negated = pattern.first() == Some(&'^');
    if negated {
        index += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &start = pattern.get(index)?;
        if start == ']' && !first {
            index += 1;
            break;
        }
        first = false;
        let start = if start == '\\' {
            index += 1;
            *pattern.get(index)?
        } else {
            start
        };
        index += 1;
        let mut end = start;
        if pattern.get(index) == Some(&'-')
            && pattern.get(index + 1).is_some_and(|&next| next != ']')
        {
            index += 1;
            end = *pattern.get(index)?;
            if end == '\\' {
                index += 1;
                end = *pattern.get(index)?;
            }
            index += 1;
        }
        if let Some(c) = c
            && start <= c
            && c <= end
        {
            matched = true;
        }
    }
    Some((matched != negated, index))
}

/// Patterns read from text: one per line, `#` comments and blank lines skipped.
pub fn read_patterns(text: &str, domain: &[String]) -> Vec<Pattern> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| Pattern::parse(line, domain))
        .collect()
}

/// Flux's default exclusions anchored at `domain`.
pub fn default_patterns(domain: &[String]) -> Vec<Pattern> {
    [EXCLUDE_VCS, EXCLUDE_EXT, EXCLUDE_CI, EXCLUDE_EXTRA]
        .iter()
        .flat_map(|list| list.split(','))
        .map(|pattern| Pattern::parse(pattern, domain))
        .collect()
}

/// Every `.sourceignore` under `dir` (a tree path), each anchored at its own directory.
pub fn load_ignore_files(tree: &dyn FileTree, dir: &str) -> Result<Vec<Pattern>, TreeError> {
    let domain: Vec<String> = dir
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(str::to_string)
        .collect();
    let mut patterns = Vec::new();
    load_into(tree, dir, &domain, &mut patterns, 0)?;
    Ok(patterns)
}

fn load_into(
    tree: &dyn FileTree,
    dir: &str,
    domain: &[String],
    patterns: &mut Vec<Pattern>,
    depth: usize,
) -> Result<(), TreeError> {
    if depth > 256 {
        return Ok(());
    }
    let join = |name: &str| {
        if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        }
    };
    let file = join(IGNORE_FILE);
    if tree.entry(&file)? == Some(EntryKind::File) {
        let bytes = tree.read(&file)?;
        patterns.extend(read_patterns(&String::from_utf8_lossy(&bytes), domain));
    }
    for (name, kind) in tree.list(dir)? {
        if kind == EntryKind::Dir && name != ".git" {
            let mut child = domain.to_vec();
            child.push(name.clone());
            load_into(tree, &join(&name), &child, patterns, depth + 1)?;
        }
    }
    Ok(())
}

/// A list of patterns where the last match wins.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    patterns: Vec<Pattern>,
}

impl Matcher {
    /// Exactly these patterns.
    pub fn new(patterns: Vec<Pattern>) -> Self {
        Self { patterns }
    }

    /// Flux's defaults (anchored at `domain`) followed by `patterns`, which may re-include.
    pub fn with_defaults(patterns: Vec<Pattern>, domain: &[String]) -> Self {
        let mut all = default_patterns(domain);
        all.extend(patterns);
        Self { patterns: all }
    }

    /// Whether a tree path is excluded.
    pub fn is_ignored(&self, path: &str, is_dir: bool) -> bool {
        let segments: Vec<&str> = path
            .split('/')
            .filter(|segment| !segment.is_empty())
            .collect();
        for pattern in self.patterns.iter().rev() {
            match pattern.matches(&segments, is_dir) {
                MatchResult::NoMatch => continue,
                MatchResult::Exclude => return true,
                MatchResult::Include => return false,
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> Vec<String> {
        Vec::new()
    }

    #[test]
    fn go_globs() {
        assert_eq!(glob("*.yaml", "a.yaml"), Some(true));
        assert_eq!(glob("*.yaml", "a.yml"), Some(false));
        assert_eq!(glob("a?c", "abc"), Some(true));
        assert_eq!(glob("[a-c]x", "bx"), Some(true));
        assert_eq!(glob("[^a-c]x", "bx"), Some(false));
        assert_eq!(glob("\\*", "*"), Some(true));
        assert_eq!(glob("[", "a"), None);
    }

    #[test]
    fn last_match_wins_and_negations_reinclude() {
        let matcher = Matcher::new(read_patterns("/*\n!configmap.yaml\n", &root()));
        assert!(matcher.is_ignored("deployment.yaml", false));
        assert!(!matcher.is_ignored("configmap.yaml", false));
        assert!(matcher.is_ignored("dir", true));
    }

    #[test]
    fn names_match_at_any_depth_and_slashes_anchor() {
        let matcher = Matcher::new(read_patterns("secret.yaml\ndocs/\n/top.yaml\n", &root()));
        assert!(matcher.is_ignored("a/b/secret.yaml", false));
        assert!(matcher.is_ignored("x/docs", true));
        assert!(
            !matcher.is_ignored("x/docs", false),
            "docs/ matches directories only"
        );
        assert!(matcher.is_ignored("top.yaml", false));
        assert!(!matcher.is_ignored("sub/top.yaml", false));
    }

    #[test]
    fn patterns_stay_inside_their_domain() {
        let matcher = Matcher::new(read_patterns("*.yaml\n", &["apps".to_string()]));
        assert!(matcher.is_ignored("apps/x.yaml", false));
        assert!(!matcher.is_ignored("infra/x.yaml", false));
    }

    #[test]
    fn defaults_exclude_ci_files_and_sops_config() {
        let matcher = Matcher::with_defaults(Vec::new(), &root());
        assert!(matcher.is_ignored(".gitlab-ci.yml", false));
        assert!(matcher.is_ignored("deep/dir/.sops.yaml", false));
        assert!(matcher.is_ignored(".git", true));
        assert!(!matcher.is_ignored("deploy.yaml", false));
    }

    #[test]
    fn double_star_spans_directories() {
        let matcher = Matcher::new(read_patterns("**/tests/*.yaml\n", &root()));
        assert!(matcher.is_ignored("a/b/tests/x.yaml", false));
        assert!(matcher.is_ignored("tests/x.yaml", false));
        assert!(!matcher.is_ignored("a/tests/x.json", false));
    }
}
