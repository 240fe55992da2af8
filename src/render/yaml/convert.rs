//! From node trees to JSON values, with the rules of the Go code kustomize runs.
//!
//! Resources: kyaml reads each document into a yaml.v3 node tree, expands aliases and merge
//! keys in place (`RNode.DeAnchor`), and at output time decodes the tree with yaml.v3 into
//! `map[string]interface{}` and encodes it as JSON. Config files (kustomization, JSON 6902
//! patches in YAML, configurations): sigs.k8s.io/yaml decodes with goyaml.v2 into
//! `interface{}` and makes the result JSON-compatible. The two differ in booleans, in merge
//! precedence, in duplicate keys (an error against last-wins) and in non-string keys.
//!
//! Alias expansion is bounded: nodes and bytes produced while expanding aliases are counted
//! per file against [`MAX_ALIAS_NODES`] and [`MAX_ALIAS_BYTES`], before anything is copied,
//! so an alias bomb fails after at most that much work. Value depth is bounded by
//! [`MAX_DEPTH`], which keeps the recursion here shallow.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::error::{Problem, YamlError};
use super::number::{float_value, format_g32};
use super::parse::{Document, MAX_DEPTH, Node, NodeId, NodeKind, Style};
use super::resolve::{self, Decoded, MERGE, NULL, STR, Scalar, Schema};

/// At most this many nodes may be produced by expanding aliases (and merge keys that point
/// at aliases) in one file. A billion-laughs file fails here after a bounded amount of work;
/// real manifests use a handful of anchors.
pub const MAX_ALIAS_NODES: u64 = 1_000_000;

/// At most this many bytes of scalar text may be copied by alias expansion in one file, so
/// a few aliases to one huge string cannot exhaust memory either.
pub const MAX_ALIAS_BYTES: u64 = 64 * 1024 * 1024;

/// What alias expansion has produced so far in one file.
#[derive(Debug, Default)]
pub(super) struct Budget {
    nodes: u64,
    bytes: u64,
}

/// The walk over one document.
struct Walker<'a> {
    doc: &'a Document,
    origin: &'a str,
    budget: &'a mut Budget,
    /// How many aliases the walk is inside; work done inside one is charged to the budget.
    in_alias: usize,
}

/// A mapping entry after merge keys are applied: the key node (a scalar, aliases already
/// followed) and the value node.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: NodeId,
    value: NodeId,
    /// Whether the entry was copied from an alias, so converting it is alias expansion.
    aliased: bool,
}

/// Converts a resource document; `None` for the documents kyaml drops: a null root
/// (empty, `~`, comments only, `!!null`) and an empty mapping or sequence.
pub(super) fn resource(
    doc: &Document,
    origin: &str,
    budget: &mut Budget,
) -> Result<Option<Value>, YamlError> {
    let mut walker = Walker {
        doc,
        origin,
        budget,
        in_alias: 0,
    };
    let root = doc.node(doc.root);
    if let NodeKind::Scalar { .. } = root.kind {
        if walker.v3_tag(doc.root) == NULL {
            return Ok(None);
        }
    }
    let value = match root.kind {
        NodeKind::Mapping { .. } => walker.v3_mapping(doc.root, 1, true, false)?,
        _ => walker.v3_value(doc.root, 0, false)?,
    };
    let empty = match &value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    };
    Ok((!empty).then_some(value))
}

/// Converts a config document with goyaml.v2's rules.
pub(super) fn config(
    doc: &Document,
    origin: &str,
    budget: &mut Budget,
) -> Result<Value, YamlError> {
    let mut walker = Walker {
        doc,
        origin,
        budget,
        in_alias: 0,
    };
    walker.v2_value(doc.root, 0)
}

impl Walker<'_> {
    fn error(&self, id: NodeId, problem: Problem) -> YamlError {
        YamlError::parse(self.origin, Some(self.doc.node(id).position), problem)
    }

    fn node(&self, id: NodeId) -> &Node {
        self.doc.node(id)
    }

    /// Charges one node (and its text) to the budget when inside an alias.
    fn visit(&mut self, id: NodeId) -> Result<(), YamlError> {
        if self.in_alias == 0 {
            return Ok(());
        }
        let bytes = match &self.node(id).kind {
            NodeKind::Scalar { text, .. } => text.len() as u64,
            _ => 0,
        };
        self.budget.nodes += 1;
        self.budget.bytes += bytes;
        if self.budget.nodes > MAX_ALIAS_NODES {
            return Err(self.error(
                id,
                Problem::AliasNodes {
                    limit: MAX_ALIAS_NODES,
                },
            ));
        }
        if self.budget.bytes > MAX_ALIAS_BYTES {
            return Err(self.error(
                id,
                Problem::AliasBytes {
                    limit: MAX_ALIAS_BYTES,
                },
            ));
        }
        Ok(())
    }

    fn check_depth(&self, id: NodeId, depth: usize) -> Result<(), YamlError> {
        if depth > MAX_DEPTH {
            return Err(self.error(id, Problem::TooDeep { limit: MAX_DEPTH }));
        }
        Ok(())
    }

    /// Follows an alias to its target (targets are never aliases themselves).
    fn target(&self, id: NodeId) -> NodeId {
        match self.node(id).kind {
            NodeKind::Alias(target) => target,
            _ => id,
        }
    }

    /// A mapping key as a scalar node, following an alias.
    fn key_node(&mut self, key: NodeId) -> Result<NodeId, YamlError> {
        let target = self.target(key);
        if target != key {
            self.in_alias += 1;
            let charged = self.visit(target);
            self.in_alias -= 1;
            charged?;
        }
        match self.node(target).kind {
            NodeKind::Scalar { .. } => Ok(target),
            NodeKind::Sequence { .. } => {
                Err(self.error(key, Problem::CollectionKey { what: "sequence" }))
            }
            _ => Err(self.error(key, Problem::CollectionKey { what: "mapping" })),
        }
    }

    fn scalar_text(&self, id: NodeId) -> &str {
        match &self.node(id).kind {
            NodeKind::Scalar { text, .. } => text,
            _ => "",
        }
    }

    // ---- yaml.v3 and kyaml (resources) ----

    /// The tag yaml.v3 records on a node when parsing: the explicit tag, `!!str` for quoted
    /// and block scalars, `!!merge` for a plain `<<`, otherwise what the text resolves to.
    fn v3_tag(&self, id: NodeId) -> String {
        match &self.node(self.target(id)).kind {
            NodeKind::Scalar { tag: Some(tag), .. } if tag != "!" => tag.clone(),
            NodeKind::Scalar { style, .. } if *style != Style::Plain => STR.to_string(),
            NodeKind::Scalar { text, .. } if text == "<<" => MERGE.to_string(),
            NodeKind::Scalar { text, .. } => resolve::plain_tag(Schema::V3, text).to_string(),
            NodeKind::Sequence { .. } => "!!seq".to_string(),
            _ => "!!map".to_string(),
        }
    }

    /// `in_flow`: the node ends up inside a flow collection (see [`Self::v3_scalar`]).
    fn v3_value(&mut self, id: NodeId, depth: usize, in_flow: bool) -> Result<Value, YamlError> {
        self.check_depth(id, depth)?;
        self.visit(id)?;
        match &self.node(id).kind {
            NodeKind::Alias(target) => {
                let target = *target;
                self.in_alias += 1;
                let value = self.v3_value(target, depth, in_flow);
                self.in_alias -= 1;
                value
            }
            NodeKind::Scalar { .. } => self.v3_scalar(id, in_flow),
            NodeKind::Sequence { items, flow } => {
                let (items, in_flow) = (items.clone(), in_flow || *flow);
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.v3_value(item, depth + 1, in_flow)?);
                }
                Ok(Value::Array(out))
            }
            NodeKind::Mapping { .. } => self.v3_mapping(id, depth + 1, false, in_flow),
        }
    }

    /// yaml.v3's scalar decoding into `interface{}`, then Go's JSON encoding.
    ///
    /// kyaml writes the node tree back to text with yaml.v3 before decoding it, and that
    /// round trip changes one thing: an empty plain scalar (a null) inside a flow
    /// collection is written as `''`, so `{a: }` ends up as `a: ""` while a block `a:`
    /// stays null. Keys always go through that path (see [`Self::v3_key`]).
    fn v3_scalar(&self, id: NodeId, in_flow: bool) -> Result<Value, YamlError> {
        let NodeKind::Scalar { text, style, tag } = &self.node(id).kind else {
            return Ok(Value::Null);
        };
        let tag = tag.as_deref().filter(|t| *t != "!").unwrap_or("");
        let empty_in_flow = in_flow && text.is_empty() && *style == Style::Plain;
        let round_tripped;
        let text = if *style == Style::Folded && !in_flow {
            round_tripped = folded_round_trip(text);
            &round_tripped
        } else {
            text
        };
        if tag == STR
            || (tag.is_empty() && (*style != Style::Plain || text == "<<" || empty_in_flow))
        {
            return Ok(Value::String(text.clone()));
        }
        let decoded = resolve::decode(Schema::V3, tag, text).map_err(|p| self.error(id, p))?;
        json_value(decoded, text, false).map_err(|p| self.error(id, p))
    }

    /// A mapping with kyaml's merge-key expansion, yaml.v3's duplicate check and its key
    /// rules: only string keys, except in the document's root mapping, which yaml.v3
    /// decodes into `map[string]interface{}` and so turns other scalars into their text.
    fn v3_mapping(
        &mut self,
        id: NodeId,
        depth: usize,
        root: bool,
        in_flow: bool,
    ) -> Result<Value, YamlError> {
        self.check_depth(id, depth)?;
        let in_flow = in_flow || matches!(self.node(id).kind, NodeKind::Mapping { flow: true, .. });
        let entries = self.v3_entries(id, depth, true)?;
        let mut out = Map::new();
        for entry in entries {
            if entry.aliased {
                self.in_alias += 1;
            }
            let converted = self
                .v3_key(entry.key, root)
                .and_then(|key| Ok((key, self.v3_value(entry.value, depth, in_flow)?)));
            if entry.aliased {
                self.in_alias -= 1;
            }
            let (key, value) = converted?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }

    /// The entries of a mapping after `DeAnchor`: the first key written `<<` is removed
    /// (even a quoted one), the maps named by the merge key are merged in (earlier ones in a
    /// list win, the mapping's own keys win over all), and duplicate own keys are an error
    /// when `check_duplicates` (not for an inline merge source, which disappears).
    fn v3_entries(
        &mut self,
        id: NodeId,
        depth: usize,
        check_duplicates: bool,
    ) -> Result<Vec<Entry>, YamlError> {
        self.check_depth(id, depth)?;
        let pairs = match &self.node(id).kind {
            NodeKind::Mapping { pairs, .. } => pairs.clone(),
            _ => Vec::new(),
        };
        let mut own = Vec::with_capacity(pairs.len());
        let mut merge_value = None;
        for (key, value) in pairs {
            let is_merge = self.v3_tag(key) == MERGE;
            let key = self.key_node(key)?;
            if is_merge {
                if merge_value.is_some() {
                    return Err(self.error(key, Problem::DuplicateMergeKey));
                }
                merge_value = Some(value);
            }
            own.push((
                Entry {
                    key,
                    value,
                    aliased: false,
                },
                is_merge,
            ));
        }
        // kyaml's `Clear("<<")` removes the first key spelled `<<`; yaml.v3 then never makes
        // a merge key a map key.
        if let Some(first) = own
            .iter()
            .position(|(entry, _)| self.scalar_text(entry.key) == "<<")
        {
            own.remove(first);
        }
        let own: Vec<Entry> = own
            .into_iter()
            .filter(|(_, merge)| !merge)
            .map(|(entry, _)| entry)
            .collect();

        if check_duplicates {
            self.check_duplicates(&own)?;
        }
        let Some(merge_value) = merge_value else {
            return Ok(own);
        };

        let own_names: HashSet<String> = own
            .iter()
            .map(|e| self.scalar_text(e.key).to_string())
            .collect();
        let mut merged: Vec<Entry> = Vec::new();
        let mut merged_index: HashMap<String, usize> = HashMap::new();
        for (source, aliased) in self.merge_sources(merge_value)? {
            if aliased {
                self.in_alias += 1;
            }
            let source_entries = self.v3_entries(source, depth + 1, false);
            if aliased {
                self.in_alias -= 1;
            }
            let mut seen = HashSet::new();
            for mut entry in source_entries? {
                entry.aliased |= aliased;
                if entry.aliased {
                    self.in_alias += 1;
                    let charged = self.visit(entry.key);
                    self.in_alias -= 1;
                    charged?;
                }
                let name = self.scalar_text(entry.key).to_string();
                // kyaml looks each name up with `Field`, which finds its first occurrence.
                if !seen.insert(name.clone()) || own_names.contains(&name) {
                    continue;
                }
                match merged_index.get(&name) {
                    Some(&at) => merged[at] = entry,
                    None => {
                        merged_index.insert(name, merged.len());
                        merged.push(entry);
                    }
                }
            }
        }
        let mut all = own;
        all.extend(merged);
        Ok(all)
    }

    /// The maps a merge key names, in the order kyaml applies them (later ones win, so a
    /// list is reversed). The flag tells whether the map is reached through an alias.
    fn merge_sources(&self, value: NodeId) -> Result<Vec<(NodeId, bool)>, YamlError> {
        match &self.node(value).kind {
            NodeKind::Mapping { .. } => Ok(vec![(value, false)]),
            NodeKind::Alias(target) => match self.node(*target).kind {
                NodeKind::Mapping { .. } => Ok(vec![(*target, true)]),
                _ => Err(self.error(value, Problem::MergeAliasNotMapping)),
            },
            NodeKind::Sequence { items, .. } => {
                let mut sources = Vec::new();
                for &item in items {
                    if let NodeKind::Sequence { .. } = self.node(item).kind {
                        return Err(self.error(item, Problem::MergeNestedSequence));
                    }
                    let mut found = self.merge_sources(item)?;
                    found.extend(sources);
                    sources = found;
                }
                Ok(sources)
            }
            NodeKind::Scalar { .. } => Err(self.error(value, Problem::MergeNotMapping)),
        }
    }

    /// yaml.v3's check: two keys with the same text (whatever their style) in one mapping.
    fn check_duplicates(&self, entries: &[Entry]) -> Result<(), YamlError> {
        let mut first_lines: HashMap<&str, usize> = HashMap::new();
        for entry in entries {
            let text = self.scalar_text(entry.key);
            let line = self.node(entry.key).position.line;
            if let Some(&first_line) = first_lines.get(text) {
                return Err(self.error(
                    entry.key,
                    Problem::DuplicateKey {
                        key: text.to_string(),
                        first_line,
                    },
                ));
            }
            first_lines.insert(text, line);
        }
        Ok(())
    }

    fn v3_key(&self, key: NodeId, root: bool) -> Result<String, YamlError> {
        let text = self.scalar_text(key);
        let tag = self.v3_tag(key);
        // An empty plain key is written back as `''` by kyaml's round trip (libyaml quotes
        // an empty simple key), so it is the empty string, not a null.
        let empty_plain = matches!(&self.node(key).kind, NodeKind::Scalar { text, style: Style::Plain, tag: None } if text.is_empty());
        // A multi-line folded key is written back after `? ` in folded style.
        let folded = matches!(
            &self.node(key).kind,
            NodeKind::Scalar {
                style: Style::Folded,
                ..
            }
        );
        let round_tripped;
        let text = if folded && text.chars().any(is_break) {
            round_tripped = folded_round_trip(text);
            round_tripped.as_str()
        } else {
            text
        };
        if tag == STR || empty_plain {
            return Ok(text.to_string());
        }
        if !root {
            return Err(self.error(
                key,
                Problem::NonStringKey {
                    key: text.to_string(),
                },
            ));
        }
        // Decoding into a Go string: the text itself, except that `!!binary` is decoded,
        // a null leaves no key (kustomize then fails) and a bad explicit tag fails.
        let explicit = match &self.node(key).kind {
            NodeKind::Scalar { tag: Some(t), .. } if t != "!" => t.as_str(),
            _ => "",
        };
        match resolve::decode(Schema::V3, explicit, text).map_err(|p| self.error(key, p))? {
            Decoded::Bytes(bytes) => Ok(resolve::go_json_string(&bytes)),
            Decoded::Scalar(Scalar::Null) => Err(self.error(
                key,
                Problem::UnsupportedKey {
                    key: text.to_string(),
                },
            )),
            Decoded::Scalar(_) => Ok(text.to_string()),
        }
    }

    // ---- goyaml.v2 and sigs.k8s.io/yaml (config files) ----

    fn v2_value(&mut self, id: NodeId, depth: usize) -> Result<Value, YamlError> {
        self.check_depth(id, depth)?;
        self.visit(id)?;
        match &self.node(id).kind {
            NodeKind::Alias(target) => {
                let target = *target;
                self.in_alias += 1;
                let value = self.v2_value(target, depth);
                self.in_alias -= 1;
                value
            }
            NodeKind::Scalar { .. } => {
                let decoded = self.v2_decode(id)?;
                json_value(decoded, self.scalar_text(id), true).map_err(|p| self.error(id, p))
            }
            NodeKind::Sequence { items, .. } => {
                let items = items.clone();
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.v2_value(item, depth + 1)?);
                }
                Ok(Value::Array(out))
            }
            NodeKind::Mapping { .. } => {
                let mut out = Map::new();
                self.v2_fill(id, depth + 1, &mut out)?;
                Ok(Value::Object(out))
            }
        }
    }

    fn v2_decode(&self, id: NodeId) -> Result<Decoded, YamlError> {
        let NodeKind::Scalar { text, style, tag } = &self.node(id).kind else {
            return Ok(Decoded::Scalar(Scalar::Null));
        };
        match tag {
            // goyaml.v2: a quoted or block scalar without a tag is a string.
            None if *style != Style::Plain => Ok(Decoded::Scalar(Scalar::Str)),
            None => resolve::decode(Schema::V2, "", text).map_err(|p| self.error(id, p)),
            Some(tag) => resolve::decode(Schema::V2, tag, text).map_err(|p| self.error(id, p)),
        }
    }

    /// goyaml.v2's mapping decoding into one map: entries in order, later ones overwrite,
    /// and a merge key pours its maps in at its position (so a key before `<<` can lose).
    fn v2_fill(
        &mut self,
        id: NodeId,
        depth: usize,
        out: &mut Map<String, Value>,
    ) -> Result<(), YamlError> {
        self.check_depth(id, depth)?;
        let pairs = match &self.node(id).kind {
            NodeKind::Mapping { pairs, .. } => pairs.clone(),
            _ => Vec::new(),
        };
        for (key, value) in pairs {
            if self.v2_is_merge(key) {
                self.v2_merge(value, depth, out)?;
                continue;
            }
            let key = self.key_node(key)?;
            let key = self.v2_key(key)?;
            let value = self.v2_value(value, depth)?;
            out.insert(key, value);
        }
        Ok(())
    }

    fn v2_is_merge(&self, key: NodeId) -> bool {
        match &self.node(key).kind {
            NodeKind::Scalar { text, style, tag } => {
                text == "<<"
                    && match tag.as_deref() {
                        None => *style == Style::Plain,
                        Some(tag) => tag == "!" || tag == MERGE,
                    }
            }
            _ => false,
        }
    }

    fn v2_merge(
        &mut self,
        value: NodeId,
        depth: usize,
        out: &mut Map<String, Value>,
    ) -> Result<(), YamlError> {
        let sources: Vec<NodeId> = match &self.node(value).kind {
            NodeKind::Mapping { .. } | NodeKind::Alias(_) => vec![value],
            // Earlier maps take precedence, so they are applied last.
            NodeKind::Sequence { items, .. } => items.iter().rev().copied().collect(),
            NodeKind::Scalar { .. } => return Err(self.error(value, Problem::MergeNotMapping)),
        };
        for source in sources {
            let target = self.target(source);
            if !matches!(self.node(target).kind, NodeKind::Mapping { .. }) {
                return Err(self.error(source, Problem::MergeNotMapping));
            }
            let aliased = target != source;
            if aliased {
                self.in_alias += 1;
            }
            let filled = self.v2_fill(target, depth + 1, out);
            if aliased {
                self.in_alias -= 1;
            }
            filled?;
        }
        Ok(())
    }

    /// sigs.k8s.io/yaml's conversion of a goyaml.v2 map key to a JSON key.
    fn v2_key(&self, key: NodeId) -> Result<String, YamlError> {
        let text = self.scalar_text(key);
        let unsupported = || {
            self.error(
                key,
                Problem::UnsupportedKey {
                    key: text.to_string(),
                },
            )
        };
        match self.v2_decode(key)? {
            Decoded::Bytes(bytes) => Ok(resolve::go_json_string(&bytes)),
            Decoded::Scalar(scalar) => match scalar {
                Scalar::Str | Scalar::Timestamp(_) => Ok(text.to_string()),
                Scalar::Int(i) => Ok(i.to_string()),
                Scalar::Bool(b) => Ok(b.to_string()),
                Scalar::Float(f) if f.is_nan() => Ok(".nan".to_string()),
                Scalar::Float(f) if f.is_infinite() => {
                    Ok(if f > 0.0 { ".inf" } else { "-.inf" }.to_string())
                }
                Scalar::Float(f) => Ok(format_g32(f)),
                Scalar::Null | Scalar::Uint(_) => Err(unsupported()),
            },
        }
    }
}

/// What a folded block scalar reads as after kyaml's yaml.v3 round trip.
///
/// yaml.v3 writes it back in folded style (when its characters allow a block scalar) and
/// reads it again. Its folded writer decides whether a line break needs an extra empty line
/// by looking at the start of the whole value instead of the next line (libyaml's C code
/// looks at the next line), so text with more-indented lines gains line feeds, and text
/// starting with a space loses them. The written text is rebuilt here (yaml.v3 does not
/// wrap long lines) and read back with the same parser as any input.
pub(super) fn folded_round_trip(value: &str) -> String {
    if !v3_block_allowed(value) {
        // Written double-quoted instead, which keeps the value.
        return value.to_string();
    }
    let extra_breaks = value
        .trim_start_matches(is_break)
        .chars()
        .next()
        .is_some_and(|c| c != ' ' && c != '\t');
    let mut text = String::from("x: >");
    if value.starts_with(' ') || value.starts_with(is_break) {
        text.push('2');
    }
    let mut tail = value.chars().rev();
    match (tail.next(), tail.next()) {
        (Some(last), _) if !is_break(last) => text.push('-'),
        (Some(_), None) => text.push('+'),
        (Some(_), Some(before)) if is_break(before) => text.push('+'),
        _ => {}
    }
    text.push('\n');
    let mut breaks = true;
    let mut leading_spaces = true;
    for c in value.chars() {
        if is_break(c) {
            if !breaks && !leading_spaces && c == '\n' && extra_breaks {
                text.push('\n');
            }
            text.push(c);
            breaks = true;
        } else {
            if breaks {
                text.push_str("  ");
                leading_spaces = c == ' ' || c == '\t';
            }
            text.push(c);
            breaks = false;
        }
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    super::parse::read_folded(&text).unwrap_or_else(|| value.to_string())
}

/// Whether yaml.v3's emitter allows a block scalar for the value: not empty, no trailing
/// space, no space before a line break, and only printable characters (yaml.v3 allows TAB).
fn v3_block_allowed(value: &str) -> bool {
    if value.is_empty() || value.ends_with(' ') {
        return false;
    }
    let mut previous_space = false;
    for c in value.chars() {
        let printable = c == '\t'
            || matches!(c, '\n' | '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
                && c != '\u{FEFF}';
        if !printable || (previous_space && is_break(c)) {
            return false;
        }
        previous_space = c == ' ';
    }
    true
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// A decoded scalar as the JSON value kustomize ends up with. goyaml.v2 (`v2`) keeps a
/// timestamp's text; yaml.v3 makes it a `time.Time`, which JSON writes in RFC 3339.
fn json_value(decoded: Decoded, text: &str, v2: bool) -> Result<Value, Problem> {
    let scalar = match decoded {
        Decoded::Bytes(bytes) => return Ok(Value::String(resolve::go_json_string(&bytes))),
        Decoded::Scalar(scalar) => scalar,
    };
    Ok(match scalar {
        Scalar::Null => Value::Null,
        Scalar::Bool(b) => Value::Bool(b),
        Scalar::Int(i) => Value::from(i),
        Scalar::Uint(u) => Value::from(u),
        Scalar::Float(f) => float_value(f).ok_or_else(|| Problem::NotFinite {
            text: text.to_string(),
        })?,
        Scalar::Str => Value::String(text.to_string()),
        Scalar::Timestamp(_) if v2 => Value::String(text.to_string()),
        Scalar::Timestamp(json) => Value::String(json?),
    })
}
