//! From node trees to JSON values, with the rules of the Go code kustomize runs.
//!
//! Resources: kyaml reads each document into a yaml.v3 node tree, expands aliases and merge
//! keys in place (`RNode.DeAnchor`), and at output time writes the tree back to text with
//! yaml.v3, decodes that into `map[string]interface{}` and encodes it as JSON. Config files
//! (kustomization, JSON 6902 patches in YAML, configurations): sigs.k8s.io/yaml decodes with
//! goyaml.v2 into `interface{}` and makes the result JSON-compatible. The two differ in
//! booleans, in merge precedence, in duplicate keys (an error against last-wins) and in
//! non-string keys.
//!
//! Alias expansion is bounded: nodes and bytes produced while expanding aliases are counted
//! per file against [`MAX_ALIAS_NODES`] and [`MAX_ALIAS_BYTES`] as they are produced, so an
//! alias bomb fails after at most that much work. Values are built with an explicit stack,
//! never by recursion, and their depth (nesting reached through aliases included) is bounded
//! by [`MAX_DEPTH`]. Only merge keys recurse, through maps merged into maps, and that chain
//! is bounded by [`MAX_MERGE_DEPTH`].

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

/// How many maps may be merged into each other through merge keys (`<<: *a` where `a`
/// itself merges `b`, ...). Real files use one or two levels.
pub const MAX_MERGE_DEPTH: usize = 64;

/// What alias expansion has produced so far in one file.
#[derive(Debug, Default)]
pub(super) struct Budget {
    nodes: u64,
    bytes: u64,
}

/// Converts a resource document; `None` for the documents kyaml drops: a null root
/// (empty, `~`, comments only, `!!null`) and an empty mapping or sequence.
pub(super) fn resource(
    doc: &Document,
    origin: &str,
    budget: &mut Budget,
) -> Result<Option<(Value, BareNulls)>, YamlError> {
    let mut walker = Walker {
        doc,
        origin,
        budget,
        in_alias: 0,
        schema: Schema::V3,
        bare_nulls: Vec::new(),
    };
    if let NodeKind::Scalar { .. } = doc.node(doc.root).kind
        && walker.v3_tag(doc.root) == NULL
    {
        return Ok(None);
    }
    let value = walker.build(doc.root)?;
    let empty = match &value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    };
    Ok((!empty).then_some((value, walker.bare_nulls)))
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
        schema: Schema::V2,
        bare_nulls: Vec::new(),
    };
    walker.build(doc.root)
}

/// The walk over one document.
struct Walker<'a> {
    doc: &'a Document,
    origin: &'a str,
    budget: &'a mut Budget,
    /// How many aliases the walk is inside; work done inside one is charged to the budget.
    in_alias: usize,
    /// yaml.v3 for resources, goyaml.v2 for config files.
    schema: Schema,
    /// JSON pointers of the nulls written as nothing at all (`key:`), which kyaml's merge
    /// treats differently from a written `null` or `~` (see [`BareNulls`]).
    bare_nulls: BareNulls,
}

/// The JSON pointers (RFC 6901) of a document's values written as nothing (`key:` with no
/// value). Once a document is a JSON value such a null looks like any other, but kyaml's
/// strategic merge drops these from the target and keeps a written `null` or `~`.
pub type BareNulls = Vec<String>;

/// A mapping entry after merge keys are applied (yaml.v3): the key node (a scalar, aliases
/// already followed) and the value node.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: NodeId,
    value: NodeId,
    /// Whether the entry was copied from an alias, so converting it is alias expansion.
    aliased: bool,
}

/// A child still to convert: its key in the parent map (none in a sequence), its node,
/// whether reaching it expands an alias, and whether a later entry overwrites it.
#[derive(Debug)]
struct Child {
    key: Option<String>,
    node: NodeId,
    aliased: bool,
    /// goyaml.v2 decodes an overwritten value but sigs.k8s.io/yaml never converts it to
    /// JSON, so conversion errors inside it do not count.
    shadowed: bool,
}

/// Where a node ends up, as far as its conversion depends on it.
#[derive(Debug, Clone, Copy, Default)]
struct Place {
    depth: usize,
    /// Inside a flow collection (yaml.v3 round trip, see [`Walker::v3_scalar`]).
    in_flow: bool,
    /// Inside an overwritten goyaml.v2 value (see [`Child::shadowed`]).
    lenient: bool,
}

/// A collection being built on the explicit stack.
struct Frame {
    children: std::vec::IntoIter<Child>,
    /// The collection so far.
    partial: Partial,
    place: Place,
    /// Aliases entered to reach this collection, left when it is complete.
    aliases: usize,
    /// The key this collection gets in its parent map.
    key: Option<String>,
}

enum Partial {
    Sequence(Vec<Value>),
    Mapping(Map<String, Value>),
}

/// The JSON pointer of the child about to be added to the top of `stack` under `key` (in a
/// map) or at the end (in a sequence).
fn pointer(stack: &[Frame], key: Option<&str>) -> String {
    let mut pointer = String::new();
    let mut push = |segment: &str| {
        pointer.push('/');
        pointer.push_str(&segment.replace('~', "~0").replace('/', "~1"));
    };
    for (parent, child) in stack.iter().zip(stack.iter().skip(1)) {
        match &parent.partial {
            Partial::Mapping(_) => push(child.key.as_deref().unwrap_or_default()),
            Partial::Sequence(items) => push(&items.len().to_string()),
        }
    }
    match stack.last().map(|top| &top.partial) {
        Some(Partial::Mapping(_)) => push(key.unwrap_or_default()),
        Some(Partial::Sequence(items)) => push(&items.len().to_string()),
        None => {}
    }
    pointer
}

/// A goyaml.v2 map key as Go compares it in `map[interface{}]interface{}`.
#[derive(Debug, PartialEq, Eq, Hash)]
enum GoKey {
    Str(Vec<u8>),
    Int(i64),
    Uint(u64),
    Float(u64),
    NaN(usize),
    Bool(bool),
    Null,
}

/// The result of starting a node: a finished scalar and its key, or a collection to fill.
enum Started {
    Done(Option<String>, Value),
    Open(Frame),
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

    /// Charges a node reached through an alias even when the walk is not inside one.
    fn visit_aliased(&mut self, id: NodeId) -> Result<(), YamlError> {
        self.in_alias += 1;
        let charged = self.visit(id);
        self.in_alias -= 1;
        charged
    }

    /// Follows an alias to its target (targets are never aliases themselves).
    fn target(&self, id: NodeId) -> NodeId {
        match self.node(id).kind {
            NodeKind::Alias(target) => target,
            _ => id,
        }
    }

    /// A plain scalar with no text and no tag: a value written as nothing.
    fn is_bare(&self, id: NodeId) -> bool {
        matches!(
            &self.node(id).kind,
            NodeKind::Scalar { text, style: Style::Plain, tag: None } if text.is_empty()
        )
    }

    fn scalar_text(&self, id: NodeId) -> &str {
        match &self.node(id).kind {
            NodeKind::Scalar { text, .. } => text,
            _ => "",
        }
    }

    /// A mapping key as a scalar node, following an alias.
    fn key_node(&mut self, key: NodeId) -> Result<NodeId, YamlError> {
        let target = self.target(key);
        if target != key {
            self.visit_aliased(target)?;
        }
        match self.node(target).kind {
            NodeKind::Scalar { .. } => Ok(target),
            NodeKind::Sequence { .. } => {
                Err(self.error(key, Problem::CollectionKey { what: "sequence" }))
            }
            _ => Err(self.error(key, Problem::CollectionKey { what: "mapping" })),
        }
    }

    /// Builds the value of `root` with an explicit stack of open collections.
    fn build(&mut self, root: NodeId) -> Result<Value, YamlError> {
        let root = Child {
            key: None,
            node: root,
            aliased: false,
            shadowed: false,
        };
        let mut stack = match self.start(root, Place::default())? {
            Started::Done(_, value) => return Ok(value),
            Started::Open(frame) => vec![frame],
        };
        loop {
            let next = stack.last_mut().and_then(|top| {
                let child = top.children.next()?;
                let place = Place {
                    depth: top.place.depth + 1,
                    lenient: top.place.lenient || child.shadowed,
                    ..top.place
                };
                Some((child, place))
            });
            let (key, value) = match next {
                Some((child, place)) => {
                    let node = child.node;
                    // kustomize keeps annotations as the text that was written (`1.50`
                    // stays "1.50"), because it reads them back as a string map.
                    let annotation = self.schema == Schema::V3
                        && stack.len() == 3
                        && stack[1].key.as_deref() == Some("metadata")
                        && stack[2].key.as_deref() == Some("annotations");
                    match self.start(child, place)? {
                        Started::Done(key, value) if annotation => {
                            let value = match value {
                                Value::Number(_) | Value::Bool(_) => {
                                    Value::String(self.scalar_text(self.target(node)).to_string())
                                }
                                other => other,
                            };
                            (key, value)
                        }
                        Started::Done(key, Value::Null) => {
                            if self.schema == Schema::V3 && self.is_bare(self.target(node)) {
                                self.bare_nulls.push(pointer(&stack, key.as_deref()));
                            }
                            (key, Value::Null)
                        }
                        Started::Done(key, value) => (key, value),
                        Started::Open(frame) => {
                            stack.push(frame);
                            continue;
                        }
                    }
                }
                None => {
                    let Some(frame) = stack.pop() else {
                        return Ok(Value::Null);
                    };
                    self.in_alias -= frame.aliases;
                    frame.finish()
                }
            };
            match stack.last_mut() {
                Some(parent) => parent.add(key, value),
                None => return Ok(value),
            }
        }
    }

    /// Starts converting a child at `place`: a scalar is converted at once, a collection
    /// becomes a frame whose children are converted by [`Self::build`].
    fn start(&mut self, child: Child, place: Place) -> Result<Started, YamlError> {
        let Child { key, node, .. } = child;
        if place.depth > MAX_DEPTH {
            return Err(self.error(node, Problem::TooDeep { limit: MAX_DEPTH }));
        }
        // A merged entry copied from an alias is alias expansion too.
        let mut aliases = usize::from(child.aliased);
        self.in_alias += aliases;
        self.visit(node)?;
        let mut id = node;
        if let NodeKind::Alias(target) = self.node(node).kind {
            self.in_alias += 1;
            aliases += 1;
            id = target;
            self.visit(id)?;
        }
        let children = match &self.node(id).kind {
            NodeKind::Alias(_) | NodeKind::Scalar { .. } => {
                let value = match self.schema {
                    Schema::V3 => self.v3_scalar(id, place.in_flow)?,
                    Schema::V2 => self.v2_scalar(id, place.lenient)?,
                };
                self.in_alias -= aliases;
                return Ok(Started::Done(key, value));
            }
            NodeKind::Sequence { items, flow } => {
                let children = items.iter().map(|&node| Child {
                    key: None,
                    node,
                    aliased: false,
                    shadowed: false,
                });
                (
                    Partial::Sequence(Vec::with_capacity(items.len())),
                    children.collect(),
                    *flow,
                )
            }
            NodeKind::Mapping { flow, .. } => {
                let flow = *flow;
                let children = match self.schema {
                    Schema::V3 => self.v3_children(id, place.depth == 0)?,
                    Schema::V2 => self.v2_children(id, place.lenient)?,
                };
                (Partial::Mapping(Map::new()), children, flow)
            }
        };
        let (partial, children, flow): (Partial, Vec<Child>, bool) = children;
        Ok(Started::Open(Frame {
            children: children.into_iter(),
            partial,
            place: Place {
                in_flow: place.in_flow || flow,
                ..place
            },
            aliases,
            key,
        }))
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

    /// yaml.v3's scalar decoding into `interface{}`, then Go's JSON encoding.
    ///
    /// kyaml writes the node tree back to text with yaml.v3 before decoding it, and that
    /// round trip changes two things: an empty plain scalar (a null) inside a flow
    /// collection is written as `''`, so `{a: }` ends up as `a: ""` while a block `a:`
    /// stays null; and folded block scalars are rewritten (see [`folded_round_trip`]).
    /// Keys always go through the first change (see [`Self::v3_key`]).
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

    /// The children of a mapping with kyaml's merge-key expansion, yaml.v3's duplicate check
    /// and its key rules: only string keys, except in the document's root mapping, which
    /// yaml.v3 decodes into `map[string]interface{}` and so turns other scalars into their
    /// text.
    fn v3_children(&mut self, id: NodeId, root: bool) -> Result<Vec<Child>, YamlError> {
        let entries = self.v3_entries(id, 0, true)?;
        let mut children = Vec::with_capacity(entries.len());
        for entry in entries {
            children.push(Child {
                key: Some(self.v3_key(entry.key, root)?),
                node: entry.value,
                aliased: entry.aliased,
                shadowed: false,
            });
        }
        Ok(children)
    }

    /// The entries of a mapping after `DeAnchor`: the first key written `<<` is removed
    /// (even a quoted one), the maps named by the merge key are merged in (earlier ones in a
    /// list win, the mapping's own keys win over all), and duplicate own keys are an error
    /// when `check_duplicates` (not for an inline merge source, which disappears).
    fn v3_entries(
        &mut self,
        id: NodeId,
        merge_depth: usize,
        check_duplicates: bool,
    ) -> Result<Vec<Entry>, YamlError> {
        if merge_depth > MAX_MERGE_DEPTH {
            return Err(self.error(
                id,
                Problem::MergeTooDeep {
                    limit: MAX_MERGE_DEPTH,
                },
            ));
        }
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
            let entry = Entry {
                key,
                value,
                aliased: false,
            };
            own.push((entry, is_merge));
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
            let source_entries = self.v3_entries(source, merge_depth + 1, false);
            if aliased {
                self.in_alias -= 1;
            }
            let mut seen = HashSet::new();
            for mut entry in source_entries? {
                entry.aliased |= aliased;
                if entry.aliased {
                    self.visit_aliased(entry.key)?;
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
        let source = |item: NodeId| match &self.node(item).kind {
            NodeKind::Mapping { .. } => Ok((item, false)),
            NodeKind::Alias(target) => match self.node(*target).kind {
                NodeKind::Mapping { .. } => Ok((*target, true)),
                _ => Err(self.error(item, Problem::MergeAliasNotMapping)),
            },
            NodeKind::Sequence { .. } => Err(self.error(item, Problem::MergeNestedSequence)),
            NodeKind::Scalar { .. } => Err(self.error(item, Problem::MergeNotMapping)),
        };
        match &self.node(value).kind {
            NodeKind::Sequence { items, .. } => {
                items.iter().rev().map(|&item| source(item)).collect()
            }
            NodeKind::Scalar { .. } => Err(self.error(value, Problem::MergeNotMapping)),
            _ => Ok(vec![source(value)?]),
        }
    }

    /// yaml.v3's check: two keys with the same text (whatever their style) in one mapping.
    fn check_duplicates(&self, entries: &[Entry]) -> Result<(), YamlError> {
        let mut first_lines: HashMap<&str, usize> = HashMap::new();
        for entry in entries {
            let text = self.scalar_text(entry.key);
            let line = self.node(entry.key).position.line;
            if let Some(&first_line) = first_lines.get(text) {
                let key = text.to_string();
                return Err(self.error(entry.key, Problem::DuplicateKey { key, first_line }));
            }
            first_lines.insert(text, line);
        }
        Ok(())
    }

    fn v3_key(&mut self, key: NodeId, root: bool) -> Result<String, YamlError> {
        let tag = self.v3_tag(key);
        let NodeKind::Scalar {
            text,
            style,
            tag: explicit,
        } = &self.node(key).kind
        else {
            return Err(self.error(key, Problem::CollectionKey { what: "mapping" }));
        };
        // An empty plain key is written back as `''` by kyaml's round trip (libyaml quotes
        // an empty simple key), so it is the empty string, not a null.
        let empty_plain = text.is_empty() && *style == Style::Plain && explicit.is_none();
        // A multi-line folded key is written back after `? ` in folded style.
        let text = if *style == Style::Folded && text.chars().any(is_break) {
            folded_round_trip(text)
        } else {
            text.clone()
        };
        if tag == STR || empty_plain {
            return Ok(text);
        }
        if !root {
            return Err(self.error(key, Problem::NonStringKey { key: text }));
        }
        // Decoding into a Go string: the text itself, except that `!!binary` is decoded,
        // a null leaves no key (kustomize then fails) and a bad explicit tag fails.
        let explicit = explicit.as_deref().filter(|t| *t != "!").unwrap_or("");
        match resolve::decode(Schema::V3, explicit, &text).map_err(|p| self.error(key, p))? {
            Decoded::Bytes(bytes) => Ok(resolve::go_json_string(&bytes)),
            Decoded::Scalar(Scalar::Null) => {
                Err(self.error(key, Problem::UnsupportedKey { key: text }))
            }
            Decoded::Scalar(_) => Ok(text),
        }
    }

    // ---- goyaml.v2 and sigs.k8s.io/yaml (config files) ----

    fn v2_scalar(&self, id: NodeId, lenient: bool) -> Result<Value, YamlError> {
        let decoded = self.v2_decode(id)?;
        match json_value(decoded, self.scalar_text(id), true) {
            // A NaN or infinity in an overwritten value never reaches JSON.
            Err(Problem::NotFinite { .. }) if lenient => Ok(Value::Null),
            converted => converted.map_err(|p| self.error(id, p)),
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

    /// goyaml.v2's mapping decoding: entries in order, and a merge key pours its maps in at
    /// its position. Every value is decoded, in order, so a later key overwrites an earlier
    /// one (a key before `<<` can lose) while a decoding error in an overwritten value still
    /// fails, as in Go. Keys overwrite each other when goyaml.v2 decodes them to the same
    /// value (`1`, `01` and `0x1` are one key, `1.0` and `"1"` are others); keys that only
    /// collide once sigs.k8s.io/yaml turns them into strings come out in random order in Go,
    /// and the last one wins here.
    fn v2_children(&mut self, id: NodeId, lenient: bool) -> Result<Vec<Child>, YamlError> {
        let mut entries = Vec::new();
        self.v2_fill(id, false, 0, &mut entries)?;
        let mut last: HashMap<&GoKey, usize> = HashMap::new();
        for (index, (identity, _, _, _)) in entries.iter().enumerate() {
            last.insert(identity, index);
        }
        let keep: Vec<bool> = entries
            .iter()
            .enumerate()
            .map(|(index, (identity, _, _, _))| last.get(identity) == Some(&index))
            .collect();
        let mut children = Vec::with_capacity(entries.len());
        for ((_, key, value, aliased), kept) in entries.into_iter().zip(keep) {
            // An overwritten entry is converted for its decoding errors and then dropped
            // (no key); sigs.k8s.io/yaml never converts its key.
            let key = match (kept, self.v2_key(key)) {
                (false, _) => None,
                (true, Ok(key)) => Some(key),
                (true, Err(_)) if lenient => None,
                (true, Err(error)) => return Err(error),
            };
            children.push(Child {
                key,
                node: value,
                aliased,
                shadowed: !kept,
            });
        }
        Ok(children)
    }

    /// Collects a mapping's entries with goyaml.v2's identity of each key, expanding merges.
    fn v2_fill(
        &mut self,
        id: NodeId,
        aliased: bool,
        merge_depth: usize,
        entries: &mut Vec<(GoKey, NodeId, NodeId, bool)>,
    ) -> Result<(), YamlError> {
        if merge_depth > MAX_MERGE_DEPTH {
            return Err(self.error(
                id,
                Problem::MergeTooDeep {
                    limit: MAX_MERGE_DEPTH,
                },
            ));
        }
        let pairs = match &self.node(id).kind {
            NodeKind::Mapping { pairs, .. } => pairs.clone(),
            _ => Vec::new(),
        };
        for (key, value) in pairs {
            if self.v2_is_merge(key) {
                let sources: Vec<NodeId> = match &self.node(value).kind {
                    NodeKind::Mapping { .. } | NodeKind::Alias(_) => vec![value],
                    // Earlier maps take precedence, so they are applied last.
                    NodeKind::Sequence { items, .. } => items.iter().rev().copied().collect(),
                    NodeKind::Scalar { .. } => {
                        return Err(self.error(value, Problem::MergeNotMapping));
                    }
                };
                for source in sources {
                    let target = self.target(source);
                    if !matches!(self.node(target).kind, NodeKind::Mapping { .. }) {
                        return Err(self.error(source, Problem::MergeNotMapping));
                    }
                    let aliased = aliased || target != source;
                    self.v2_fill(target, aliased, merge_depth + 1, entries)?;
                }
                continue;
            }
            let key = self.key_node(key)?;
            if aliased {
                self.visit_aliased(key)?;
            }
            let identity = match self.v2_decode(key)? {
                Decoded::Bytes(bytes) => GoKey::Str(bytes),
                Decoded::Scalar(Scalar::Str | Scalar::Timestamp(_)) => {
                    GoKey::Str(self.scalar_text(key).as_bytes().to_vec())
                }
                Decoded::Scalar(Scalar::Int(i)) => GoKey::Int(i),
                Decoded::Scalar(Scalar::Uint(u)) => GoKey::Uint(u),
                // NaN is never equal to itself, so every NaN key is its own.
                Decoded::Scalar(Scalar::Float(f)) if f.is_nan() => GoKey::NaN(entries.len()),
                // +0 and -0 are the same key in Go.
                Decoded::Scalar(Scalar::Float(0.0)) => GoKey::Float(0.0_f64.to_bits()),
                Decoded::Scalar(Scalar::Float(f)) => GoKey::Float(f.to_bits()),
                Decoded::Scalar(Scalar::Bool(b)) => GoKey::Bool(b),
                Decoded::Scalar(Scalar::Null) => GoKey::Null,
            };
            entries.push((identity, key, value, aliased));
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

impl Frame {
    /// Adds a finished child; a mapping child without a key (an overwritten goyaml.v2
    /// entry) is dropped.
    fn add(&mut self, key: Option<String>, value: Value) {
        match (&mut self.partial, key) {
            (Partial::Sequence(items), _) => items.push(value),
            (Partial::Mapping(map), Some(key)) => {
                map.insert(key, value);
            }
            (Partial::Mapping(_), None) => {}
        }
    }

    /// The finished collection and the key it gets in its parent.
    fn finish(self) -> (Option<String>, Value) {
        let value = match self.partial {
            Partial::Sequence(items) => Value::Array(items),
            Partial::Mapping(map) => Value::Object(map),
        };
        (self.key, value)
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
            || (matches!(c, '\n' | '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
                && c != '\u{FEFF}');
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
