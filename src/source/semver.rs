//! `spec.ref.semver`: Masterminds semver v3 versions and constraints, which is what Flux's
//! source-controller uses to pick a tag.
//!
//! Versions: [`Version::parse`] is Masterminds' lenient `NewVersion` (an optional `v`,
//! `1` and `1.2` coerced to `1.0.0` and `1.2.0`, leading zeros in the numbers tolerated,
//! prerelease and build metadata). Tags are read with [`Version::parse_tag`] instead, the
//! stricter form Flux applies to tags (`fluxcd/pkg/version.ParseVersion`: a full
//! `MAJOR.MINOR.PATCH`, no leading zeros, an optional `v`); so a tag `1.2` is skipped by
//! Flux and by us, although the constraint `1.2` is fine.
//!
//! Constraints: AND-groups of comparisons separated by spaces or commas, groups joined by
//! `||`; operators `=` (or none), `!=`, `>`, `<`, `>=` (`=>`), `<=` (`=<`), `~` (`~>`), `^`;
//! hyphen ranges `1.2 - 1.4.5` (spaces around the hyphen required: `1.2-1.4.5` is the
//! version `1.2.0` with prerelease `1.4.5`); wildcards `x`, `X`, `*` in any position.
//!
//! Prereleases follow Masterminds v3, which differs from npm: a version with a prerelease
//! can only satisfy an AND-group in which at least one comparison carries a prerelease
//! itself (any prerelease, on any `major.minor.patch`; `>=1.0.0-0` admits `3.4.5-beta.1`).
//! Otherwise the ordinary comparisons decide.
//!
//! The wildcard rules reproduce Masterminds' behaviour, quirks included (`>1.x` means
//! "major above 1", `<=1.x` means "major at most 1", `!=*` excludes only `0.0.0`), because
//! a range must select the same tag here as in Flux.

use std::cmp::Ordering;
use std::fmt;

/// Why a version or a constraint could not be read. Never retryable: the text must change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SemverError {
    #[error("'{text}' is not a semantic version")]
    InvalidVersion { text: String },
    #[error("'{text}' has an invalid prerelease (identifiers are non-empty [0-9A-Za-z-])")]
    InvalidPrerelease { text: String },
    #[error("'{text}' has invalid build metadata (identifiers are non-empty [0-9A-Za-z-])")]
    InvalidMetadata { text: String },
    #[error("'{text}' has a numeric identifier with a leading zero")]
    LeadingZero { text: String },
    #[error("'{text}' has a version number larger than 18446744073709551615")]
    TooLarge { text: String },
    #[error("improper constraint '{text}': {reason}")]
    InvalidConstraint { text: String, reason: String },
}

impl SemverError {
    /// Always false: parsing the same text again gives the same answer.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// A semantic version. Equality and ordering are semver precedence: build metadata is
/// ignored, a prerelease sorts before its release.
#[derive(Debug, Clone)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    prerelease: String,
    metadata: String,
    original: String,
}

fn is_identifier_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

impl Version {
    /// Masterminds' `NewVersion` (lenient, coercing missing minor and patch to zero).
    pub fn parse(text: &str) -> Result<Version, SemverError> {
        let invalid = || SemverError::InvalidVersion {
            text: text.to_string(),
        };
        let rest = text.strip_prefix('v').unwrap_or(text);
        let (core, prerelease, metadata) = split_extras(text, rest)?;
        let mut numbers = [0u64; 3];
        let mut parts = core.split('.');
        for (index, slot) in numbers.iter_mut().enumerate() {
            match parts.next() {
                Some(part) => *slot = parse_number(text, part)?,
                None if index > 0 => break,
                None => return Err(invalid()),
            }
        }
        if parts.next().is_some() {
            return Err(invalid());
        }
        Ok(Version {
            major: numbers[0],
            minor: numbers[1],
            patch: numbers[2],
            prerelease: prerelease.to_string(),
            metadata: metadata.to_string(),
            original: text.to_string(),
        })
    }

    /// How Flux reads a tag: `MAJOR.MINOR.PATCH` exactly, no leading zeros, with optional
    /// prerelease, build metadata and `v` prefix.
    pub fn parse_tag(text: &str) -> Result<Version, SemverError> {
        let rest = text.strip_prefix('v').unwrap_or(text);
        let (core, _, _) = split_extras(text, rest)?;
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() != 3 {
            return Err(SemverError::InvalidVersion {
                text: text.to_string(),
            });
        }
        if parts
            .iter()
            .any(|part| part.len() > 1 && part.starts_with('0'))
        {
            return Err(SemverError::LeadingZero {
                text: text.to_string(),
            });
        }
        Self::parse(text)
    }

    pub fn major(&self) -> u64 {
        self.major
    }

    pub fn minor(&self) -> u64 {
        self.minor
    }

    pub fn patch(&self) -> u64 {
        self.patch
    }

    /// The prerelease without its `-`, empty when there is none.
    pub fn prerelease(&self) -> &str {
        &self.prerelease
    }

    /// The build metadata without its `+`, empty when there is none.
    pub fn metadata(&self) -> &str {
        &self.metadata
    }

    /// The text the version was parsed from (a tag keeps its `v`).
    pub fn original(&self) -> &str {
        &self.original
    }

    fn numbers(&self) -> (u64, u64, u64) {
        (self.major, self.minor, self.patch)
    }
}

/// Splits `rest` (the text after an optional `v`) into the numeric core, the prerelease
/// and the metadata, validating the latter two.
fn split_extras<'a>(text: &str, rest: &'a str) -> Result<(&'a str, &'a str, &'a str), SemverError> {
    let (before_metadata, metadata) = match rest.split_once('+') {
        Some((before, metadata)) => {
            if !valid_identifiers(metadata) {
                return Err(SemverError::InvalidMetadata {
                    text: text.to_string(),
                });
            }
            (before, metadata)
        }
        None => (rest, ""),
    };
    let (core, prerelease) = match before_metadata.split_once('-') {
        Some((core, prerelease)) => {
            if !valid_identifiers(prerelease) {
                return Err(SemverError::InvalidPrerelease {
                    text: text.to_string(),
                });
            }
            // Numeric prerelease identifiers compare as numbers, so a leading zero
            // would make two spellings of one identifier.
            if prerelease.split('.').any(|identifier| {
                identifier.len() > 1
                    && identifier.starts_with('0')
                    && identifier.chars().all(|c| c.is_ascii_digit())
            }) {
                return Err(SemverError::LeadingZero {
                    text: text.to_string(),
                });
            }
            (core, prerelease)
        }
        None => (before_metadata, ""),
    };
    Ok((core, prerelease, metadata))
}

fn valid_identifiers(text: &str) -> bool {
    text.split('.')
        .all(|identifier| !identifier.is_empty() && identifier.chars().all(is_identifier_char))
}

fn parse_number(text: &str, part: &str) -> Result<u64, SemverError> {
    if part.is_empty() || !part.chars().all(|c| c.is_ascii_digit()) {
        return Err(SemverError::InvalidVersion {
            text: text.to_string(),
        });
    }
    part.parse().map_err(|_| SemverError::TooLarge {
        text: text.to_string(),
    })
}

/// Orders two prereleases identifier by identifier: numbers numerically and below words,
/// words bytewise, a shorter list first when it is a prefix of the longer.
fn compare_prerelease(left: &str, right: &str) -> Ordering {
    let mut left_parts = left.split('.');
    let mut right_parts = right.split('.');
    loop {
        match (left_parts.next(), right_parts.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(a), Some(b)) => {
                let order = match (a.parse::<u64>(), b.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => a.as_bytes().cmp(b.as_bytes()),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.numbers().cmp(&other.numbers()).then_with(|| {
            match (self.prerelease.is_empty(), other.prerelease.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.prerelease, &other.prerelease),
            }
        })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.prerelease.is_empty() {
            write!(f, "-{}", self.prerelease)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `=` or no operator; a wildcard turns it into `~`.
    Equal,
    NotEqual,
    Greater,
    Less,
    GreaterOrEqual,
    LessOrEqual,
    Tilde,
    Caret,
}

/// Which position of a constraint's version was a wildcard (or missing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wildcard {
    None,
    /// `*`: everything; Masterminds flags this neither minor- nor patch-dirty.
    Major,
    /// `1`, `1.x`.
    Minor,
    /// `1.2`, `1.2.x`.
    Patch,
}

#[derive(Debug, Clone)]
struct Comparison {
    op: Op,
    version: Version,
    wildcard: Wildcard,
}

#[derive(Debug, Clone)]
struct Group {
    comparisons: Vec<Comparison>,
    /// Prerelease versions are considered only by groups that mention one.
    admits_prereleases: bool,
}

/// A parsed `spec.ref.semver` range.
#[derive(Debug, Clone)]
pub struct Constraint {
    groups: Vec<Group>,
    text: String,
}

impl Constraint {
    /// Parses a Masterminds v3 constraint.
    pub fn parse(text: &str) -> Result<Constraint, SemverError> {
        let groups = text
            .split("||")
            .map(|group| parse_group(text, group))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Constraint {
            groups,
            text: text.to_string(),
        })
    }

    /// Whether `version` satisfies any of the OR-groups.
    pub fn matches(&self, version: &Version) -> bool {
        self.groups.iter().any(|group| {
            (version.prerelease.is_empty() || group.admits_prereleases)
                && group
                    .comparisons
                    .iter()
                    .all(|comparison| comparison.matches(version))
        })
    }

    /// The text the constraint was parsed from.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The highest version among `tags` that `constraint` admits, as Flux chooses it: tags
/// are read with [`Version::parse_tag`] and those that do not parse are skipped. Among
/// tags of equal precedence (`v1.0.0` and `1.0.0`, or differing only in build metadata)
/// Flux prefers the one whose commit is newest; without commit times this picks the
/// bytewise greatest tag name, so the choice at least never depends on listing order.
pub fn latest_matching<'a>(
    constraint: &Constraint,
    tags: impl Iterator<Item = &'a str>,
) -> Option<(&'a str, Version)> {
    tags.filter_map(|tag| Version::parse_tag(tag).ok().map(|version| (tag, version)))
        .filter(|(_, version)| constraint.matches(version))
        .max_by(|(left_tag, left), (right_tag, right)| {
            left.cmp(right)
                .then_with(|| left_tag.as_bytes().cmp(right_tag.as_bytes()))
        })
}

fn is_space(c: char) -> bool {
    // Go's regexp `\s`.
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

/// A small cursor over one OR-group.
struct Cursor<'a> {
    text: &'a str,
    position: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.position..]
    }

    fn skip_space(&mut self) -> usize {
        let before = self.position;
        while let Some(c) = self.rest().chars().next().filter(|&c| is_space(c)) {
            self.position += c.len_utf8();
        }
        self.position - before
    }

    fn eat(&mut self, prefix: &str) -> bool {
        if self.rest().starts_with(prefix) {
            self.position += prefix.len();
            true
        } else {
            false
        }
    }

    fn operator(&mut self) -> Op {
        // Two-character operators first, so `>=` is not read as `>` then `=1`.
        for (spelling, op) in [
            ("!=", Op::NotEqual),
            (">=", Op::GreaterOrEqual),
            ("=>", Op::GreaterOrEqual),
            ("<=", Op::LessOrEqual),
            ("=<", Op::LessOrEqual),
            ("~>", Op::Tilde),
            (">", Op::Greater),
            ("<", Op::Less),
            ("=", Op::Equal),
            ("~", Op::Tilde),
            ("^", Op::Caret),
        ] {
            if self.eat(spelling) {
                return op;
            }
        }
        Op::Equal
    }

    /// The longest prefix shaped like a constraint version: `v`, up to three segments of
    /// digits or wildcards, then prerelease and metadata identifiers.
    fn version_text(&mut self) -> &'a str {
        let start = self.position;
        let rest = self.rest();
        let bytes = rest.as_bytes();
        let mut index = usize::from(bytes.first() == Some(&b'v'));
        let segment = |b: u8| b.is_ascii_digit() || matches!(b, b'x' | b'X' | b'*');
        let identifier = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
        let run = |from: usize, accept: &dyn Fn(u8) -> bool| {
            let mut end = from;
            while end < bytes.len() && accept(bytes[end]) {
                end += 1;
            }
            end
        };
        let first = run(index, &segment);
        if first == index {
            return "";
        }
        index = first;
        for _ in 0..2 {
            if bytes.get(index) == Some(&b'.') {
                let end = run(index + 1, &segment);
                if end == index + 1 {
                    break;
                }
                index = end;
            }
        }
        for marker in [b'-', b'+'] {
            if bytes.get(index) == Some(&marker) {
                let mut end = run(index + 1, &identifier);
                if end == index + 1 {
                    break;
                }
                while bytes.get(end) == Some(&b'.') {
                    let next = run(end + 1, &identifier);
                    if next == end + 1 {
                        break;
                    }
                    end = next;
                }
                index = end;
            }
        }
        self.position = start + index;
        &rest[..index]
    }
}

fn parse_group(whole: &str, group: &str) -> Result<Group, SemverError> {
    let error = |reason: &str| SemverError::InvalidConstraint {
        text: whole.to_string(),
        reason: reason.to_string(),
    };
    let mut cursor = Cursor {
        text: group,
        position: 0,
    };
    let mut comparisons = Vec::new();
    cursor.skip_space();
    loop {
        let op_start = cursor.position;
        let op = cursor.operator();
        let has_operator = cursor.position != op_start;
        cursor.skip_space();
        let version = cursor.version_text();
        if version.is_empty() {
            return Err(error(&format!(
                "expected a version at '{}'",
                group[op_start..].trim()
            )));
        }
        let spaces = cursor.skip_space();
        // `A - B` (spaces required) is `>= A, <= B`; only for a bare version, as
        // Masterminds rewrites ranges before reading operators.
        let save = cursor.position;
        if !has_operator && spaces > 0 && cursor.eat("-") && cursor.skip_space() > 0 {
            let upper = cursor.version_text();
            if upper.is_empty() {
                return Err(error("a hyphen range needs a version on both sides"));
            }
            comparisons.push(comparison(whole, Op::GreaterOrEqual, version)?);
            comparisons.push(comparison(whole, Op::LessOrEqual, upper)?);
            cursor.skip_space();
        } else {
            cursor.position = save;
            comparisons.push(comparison(whole, op, version)?);
        }
        if cursor.rest().is_empty() {
            break;
        }
        let before = cursor.position;
        if cursor.eat(",") {
            cursor.skip_space();
        } else if cursor.position == before && !group[..before].ends_with(is_space) {
            return Err(error(&format!(
                "comparisons must be separated by spaces or commas at '{}'",
                cursor.rest()
            )));
        }
    }
    let admits_prereleases = comparisons
        .iter()
        .any(|comparison| !comparison.version.prerelease.is_empty());
    Ok(Group {
        comparisons,
        admits_prereleases,
    })
}

fn comparison(whole: &str, op: Op, text: &str) -> Result<Comparison, SemverError> {
    let rest = text.strip_prefix('v').unwrap_or(text);
    let (core, prerelease, _) =
        split_extras(text, rest).map_err(|error| constraint_error(whole, &error))?;
    let segments: Vec<&str> = core.split('.').collect();
    let is_wild = |segment: Option<&&str>| match segment {
        None => true,
        Some(segment) => matches!(*segment, "x" | "X" | "*"),
    };
    let wildcard = if is_wild(segments.first()) {
        Wildcard::Major
    } else if is_wild(segments.get(1)) {
        Wildcard::Minor
    } else if is_wild(segments.get(2)) {
        Wildcard::Patch
    } else {
        Wildcard::None
    };
    let number = |index: usize| -> Result<u64, SemverError> {
        let segment = segments.get(index).copied().unwrap_or("0");
        parse_number(text, segment).map_err(|error| constraint_error(whole, &error))
    };
    let version = match wildcard {
        Wildcard::None => Version::parse(text).map_err(|error| constraint_error(whole, &error))?,
        // Masterminds keeps the prerelease of a wildcard version and drops its metadata.
        _ => {
            let kept = match wildcard {
                Wildcard::Major => 0,
                Wildcard::Minor => 1,
                _ => 2,
            };
            let mut numbers = [0u64; 3];
            for (index, slot) in numbers.iter_mut().enumerate().take(kept) {
                *slot = number(index)?;
            }
            Version {
                major: numbers[0],
                minor: numbers[1],
                patch: numbers[2],
                prerelease: prerelease.to_string(),
                metadata: String::new(),
                original: text.to_string(),
            }
        }
    };
    Ok(Comparison {
        op,
        version,
        wildcard,
    })
}

fn constraint_error(whole: &str, error: &SemverError) -> SemverError {
    SemverError::InvalidConstraint {
        text: whole.to_string(),
        reason: error.to_string(),
    }
}

impl Comparison {
    fn matches(&self, v: &Version) -> bool {
        let c = &self.version;
        let minor_wild = self.wildcard == Wildcard::Minor;
        let patch_wild = self.wildcard == Wildcard::Patch;
        let wild = self.wildcard != Wildcard::None;
        match self.op {
            Op::Equal if wild => self.tilde(v),
            Op::Equal => v == c,
            Op::NotEqual => {
                if wild {
                    if v.major != c.major {
                        return true;
                    }
                    if minor_wild {
                        return false;
                    }
                    if v.minor != c.minor {
                        return true;
                    }
                    if patch_wild {
                        return compare_prerelease(&v.prerelease, &c.prerelease) != Ordering::Equal
                            && !(v.prerelease.is_empty() && c.prerelease.is_empty());
                    }
                }
                v != c
            }
            Op::Greater => {
                if !wild || self.wildcard == Wildcard::Major && v.major == c.major {
                    return v > c;
                }
                match v.major.cmp(&c.major) {
                    Ordering::Greater => true,
                    Ordering::Less => false,
                    Ordering::Equal => patch_wild && v.minor > c.minor,
                }
            }
            Op::Less => v < c,
            Op::GreaterOrEqual => v >= c,
            Op::LessOrEqual => {
                if !wild {
                    return v <= c;
                }
                !(v.major > c.major || v.major == c.major && v.minor > c.minor && !minor_wild)
            }
            Op::Tilde => self.tilde(v),
            Op::Caret => {
                if v < c {
                    return false;
                }
                if c.major > 0 || minor_wild {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || patch_wild {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                v.patch == c.patch
            }
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.version;
        if v < c {
            return false;
        }
        let minor_wild = self.wildcard == Wildcard::Minor;
        if c.numbers() == (0, 0, 0) && !minor_wild && self.wildcard != Wildcard::Patch {
            return true;
        }
        v.major == c.major && (minor_wild || v.minor == c.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(text: &str) -> Version {
        Version::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"))
    }

    fn check(constraint: &str, candidate: &str) -> bool {
        Constraint::parse(constraint)
            .unwrap_or_else(|error| panic!("{constraint}: {error}"))
            .matches(&version(candidate))
    }

    #[test]
    fn versions_are_coerced_like_new_version() {
        let v = version("v1.2");
        assert_eq!((v.major(), v.minor(), v.patch()), (1, 2, 0));
        assert_eq!(v.original(), "v1.2");
        assert_eq!(version("1").to_string(), "1.0.0");
        assert_eq!(version("01.002.3").to_string(), "1.2.3");
        let full = version("1.2.3-rc.1+build.5-x");
        assert_eq!(full.prerelease(), "rc.1");
        assert_eq!(full.metadata(), "build.5-x");
        assert_eq!(version("1.2.3-0abc").prerelease(), "0abc");
        assert_eq!(version("1.2-1.4.5").prerelease(), "1.4.5");
    }

    #[test]
    fn malformed_versions_are_refused_with_the_reason() {
        for text in [
            "", "v", "a.b.c", "1.2.3.4", "1..2", "1.2.", "1.2.3-", "1.2.3+", " 1.2.3", "1.2.3 ",
        ] {
            assert!(
                matches!(
                    Version::parse(text),
                    Err(SemverError::InvalidVersion { .. }
                        | SemverError::InvalidPrerelease { .. }
                        | SemverError::InvalidMetadata { .. })
                ),
                "{text:?} should not parse"
            );
        }
        assert!(matches!(
            Version::parse("1.2.3-beta.01"),
            Err(SemverError::LeadingZero { .. })
        ));
        assert!(matches!(
            Version::parse("1.2.3-be_ta"),
            Err(SemverError::InvalidPrerelease { .. })
        ));
        assert!(matches!(
            Version::parse("1.2.3+a..b"),
            Err(SemverError::InvalidMetadata { .. })
        ));
        assert!(matches!(
            Version::parse("99999999999999999999.0.0"),
            Err(SemverError::TooLarge { .. })
        ));
        let error = Version::parse("nope").err().map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some("'nope' is not a semantic version"));
        assert!(!Version::parse("x").err().is_some_and(|e| e.is_retryable()));
    }

    #[test]
    fn lenient_parsing_accepts_and_refuses_what_new_version_does() {
        for text in [
            "1.2.3-alpha.-1",
            "1.2-beta.5",
            "v1.2.0-x.Y.0+metadata-width-hypen",
            "1.2.3+test.01",
            "2147483648.3.0",
            "20221209-update-renovatejson-v4",
            "1.1.01",
        ] {
            assert!(Version::parse(text).is_ok(), "{text:?} should parse");
        }
        for text in [
            "\n1.2",
            "1.2.beta",
            "1.1.2+.123",
            "1.0.0-alpha_beta",
            "1.0.0-alpha..1",
            "9.8.7+meta+meta",
            "1.2.31----RC-SNAPSHOT.12.09.1--.12+788",
        ] {
            assert!(Version::parse(text).is_err(), "{text:?} should not parse");
        }
    }

    #[test]
    fn tags_must_be_full_versions() {
        assert!(Version::parse_tag("v1.2.3").is_ok());
        assert!(Version::parse_tag("1.2.3-rc.1+meta").is_ok());
        assert!(Version::parse_tag("1.2").is_err());
        assert!(Version::parse_tag("v1").is_err());
        assert!(matches!(
            Version::parse_tag("01.2.3"),
            Err(SemverError::LeadingZero { .. })
        ));
        assert!(Version::parse_tag("release-1.2.3").is_err());
    }

    #[test]
    fn precedence_follows_the_spec() {
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.10.0",
            "2.0.0",
        ];
        for pair in ordered.windows(2) {
            assert!(
                version(pair[0]) < version(pair[1]),
                "{} < {}",
                pair[0],
                pair[1]
            );
        }
        assert_eq!(version("1.0.0+a"), version("v1.0.0+b"));
        assert!(
            version("1.0.0-BETA") < version("1.0.0-alpha"),
            "ASCII order"
        );
    }

    #[test]
    fn basic_operators() {
        let cases = [
            ("= 2.0", "2.0.0", true),
            ("= 2.0", "1.2.3", false),
            ("4.1", "4.1.0", true),
            ("!=4.1", "4.1.0", false),
            ("!=4.1", "5.1.0", true),
            (">1.1", "4.1.0", true),
            (">1.1", "1.1.0", false),
            ("<1.1", "0.1.0", true),
            ("<1.1", "1.1.1", false),
            (">=1.1", "1.1.0", true),
            (">=1.1", "0.0.9", false),
            ("=>1.1", "1.1.0", true),
            ("<=1.1", "1.1.0", true),
            ("=<1.1", "1.1.1", true),
            ("<=4.5", "4.6.3", false),
            (">=v1.2.3+build", "1.2.3", true),
        ];
        for (constraint, candidate, expected) in cases {
            assert_eq!(
                check(constraint, candidate),
                expected,
                "{constraint} vs {candidate}"
            );
        }
    }

    #[test]
    fn tilde_and_caret() {
        let cases = [
            ("~1.2.3", "1.2.5", true),
            ("~1.2.3", "1.2.2", false),
            ("~1.2.3", "1.3.2", false),
            ("~>1.2.3", "1.2.9", true),
            ("~1", "1.3.5", true),
            ("~1", "2.1.1", false),
            ("~1.x", "1.3.5", true),
            ("~*", "2.1.1", true),
            ("~0.0.0", "1.2.3", true),
            ("~1.1-alpha", "1.1.1-beta", true),
            ("~1.1.1-beta", "1.1.1-alpha", false),
            ("^1.1", "1.1.1", true),
            ("^1.1", "4.3.2", false),
            ("^1.2.3", "1.9.0", true),
            ("^1.2.3", "1.2.2", false),
            ("^0.2.3", "0.2.9", true),
            ("^0.2.3", "0.3.0", false),
            ("^0.0.3", "0.0.3", true),
            ("^0.0.3", "0.0.4", false),
            ("^0.0", "0.0.9", true),
            ("^0.0", "0.1.0", false),
            ("^0", "0.9.0", true),
            ("^0", "1.0.0", false),
            ("^0.0.0", "1.2.3", false),
            ("^1.x", "2.1.1", false),
            ("^1.2.x-alpha", "1.1.1-beta1", false),
            ("^1.1.2-alpha", "1.2.1-beta1", true),
        ];
        for (constraint, candidate, expected) in cases {
            assert_eq!(
                check(constraint, candidate),
                expected,
                "{constraint} vs {candidate}"
            );
        }
    }

    #[test]
    fn wildcards_keep_masterminds_semantics() {
        let cases = [
            ("*", "4.5.6", true),
            ("x", "0.0.1", true),
            ("1.2.x", "1.2.9", true),
            ("1.2.x", "1.3.0", false),
            ("1.*", "1.9.0", true),
            ("2.*", "3.4.5", false),
            ("2.1.*", "2.2.1", false),
            ("0.x.x", "1.2.3", false),
            (">= 1.2.x", "1.2.0", true),
            (">11", "11.1.0", false),
            (">11.1", "11.1.1", false),
            (">11.1", "11.2.1", true),
            (">1.x", "2.0.0", true),
            ("<1.x", "1.1.1", false),
            ("<1.x", "0.1.1", true),
            ("<1.1.x", "1.0.500", true),
            ("<=1.x", "1.9.0", true),
            ("<=2.x", "3.0.0", false),
            ("<=1.1.x", "1.2.500", false),
            ("!=4.x", "4.1.0", false),
            ("!=4.x", "5.1.0", true),
            ("!=4.1.x", "4.2.0", true),
            ("!=4.2.x", "4.2.3", false),
            ("!=*", "0.0.0", false),
            ("!=*", "0.0.1", true),
        ];
        for (constraint, candidate, expected) in cases {
            assert_eq!(
                check(constraint, candidate),
                expected,
                "{constraint} vs {candidate}"
            );
        }
    }

    #[test]
    fn prereleases_need_a_prerelease_in_the_same_and_group() {
        let cases = [
            ("*", "1.2.3-alpha.1", false),
            ("*-0", "1.2.3-alpha.1", true),
            (">=1.1", "4.1.0-beta", false),
            (">=0-0", "0.0.1-alpha", true),
            (">=1.0.0-0", "3.4.5-beta.1", true),
            ("<=1.1-a", "0.1.0-alpha", true),
            (">= 1.0.0 <= 2.0.0-beta", "1.0.1-beta", true),
            (">= 1.0.0 <= 2.0.0-beta || > 3", "3.0.1-beta", false),
            (
                ">= 1.0.0 <= 2.0.0-beta != 1.0.1-beta || > 3",
                "1.0.1-beta",
                false,
            ),
            (">1.2.3-alpha.1", "1.3.3-alpha.2", true),
            ("<0-z", "0.0.0-alpha", true),
        ];
        for (constraint, candidate, expected) in cases {
            assert_eq!(
                check(constraint, candidate),
                expected,
                "{constraint} vs {candidate}"
            );
        }
    }

    #[test]
    fn and_or_and_hyphen_ranges() {
        let cases = [
            (">1.1, <2", "1.2.1", true),
            (">1.1 <2", "1.1.1", false),
            ("> 1.1 < 2", "1.2.1", true),
            (">=1.1, <2, !=1.2.3", "1.2.3", false),
            (">=1.1 <2 !=1.2.3 || > 3", "4.1.2", true),
            (">=1.1 <2 !=1.2.3 || > 3", "3.0.0", false),
            (">= 1.1, <2, != 1.2.3 || >= 3", "3.0.0", true),
            ("1.1 - 2", "1.1.1", true),
            ("1.5.0 - 4.5", "3.7.0", true),
            ("1.5.0 - 4.5", "4.5.9", true),
            ("1.5.0 - 4.5", "4.6.0", false),
            ("1.2 - 1.4.5 || 3 - 4", "3.1.0", true),
            ("1.1-3", "4.3.2", false),
            ("1.0.0 - 2.0.0, <=2.0.0", "1.5.0", true),
            ("12.3.34 ~1.2.3", "1.2.3", false),
        ];
        for (constraint, candidate, expected) in cases {
            assert_eq!(
                check(constraint, candidate),
                expected,
                "{constraint} vs {candidate}"
            );
        }
    }

    #[test]
    fn malformed_constraints_are_refused() {
        for text in [
            "",
            " ",
            ">= bar",
            "BAR >= 1.2.3",
            "12.3.4.1234",
            "12.3.34~ 1.2.3",
            "1.2,",
            ",1.2",
            "1.2 ||",
            "v1.2.3-beta.01",
            ">1.2 - 1.4",
            "1.2 - ",
            ">>1",
            "1x.2",
            "~1.2.3.",
        ] {
            let result = Constraint::parse(text);
            assert!(
                matches!(result, Err(SemverError::InvalidConstraint { .. })),
                "{text:?} should be refused, got {result:?}"
            );
        }
        let message = Constraint::parse(">= bar").err().map(|e| e.to_string());
        assert_eq!(
            message.as_deref(),
            Some("improper constraint '>= bar': expected a version at '>= bar'")
        );
    }

    #[test]
    fn latest_matching_picks_the_highest_parseable_tag() {
        let constraint = Constraint::parse(">=1.0.0 <2.0.0").expect("constraint");
        let tags = [
            "v1.0.0",
            "v1.10.0",
            "v1.9.3",
            "v2.0.0",
            "v1.11.0-rc.1",
            "1.12",
            "latest",
            "v1.2.3.4",
        ];
        let (tag, version) = latest_matching(&constraint, tags.iter().copied()).expect("a match");
        assert_eq!(tag, "v1.10.0");
        assert_eq!(version.to_string(), "1.10.0");

        let with_pre = Constraint::parse(">=1.0.0-0 <2.0.0").expect("constraint");
        let found = latest_matching(&with_pre, tags.iter().copied()).map(|(tag, _)| tag);
        assert_eq!(found, Some("v1.11.0-rc.1"));

        let none = Constraint::parse(">=3").expect("constraint");
        assert!(latest_matching(&none, tags.iter().copied()).is_none());
    }

    #[test]
    fn ties_are_broken_by_tag_name_whatever_the_order() {
        let constraint = Constraint::parse("1.x").expect("constraint");
        let forward = ["1.0.0+a", "v1.0.0", "1.0.0+b"];
        let mut backward = forward;
        backward.reverse();
        let pick = |tags: &[&'static str]| {
            latest_matching(&constraint, tags.iter().copied()).map(|(tag, _)| tag)
        };
        assert_eq!(pick(&forward), Some("v1.0.0"));
        assert_eq!(pick(&backward), Some("v1.0.0"));
    }
}
