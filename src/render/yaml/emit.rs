//! Printing a JSON value exactly as kustomize does: `sigs.k8s.io/yaml.JSONToYAML`, that is
//! goyaml.v2 decoding the JSON text and goyaml.v2 (libyaml's emitter, ported to Go)
//! marshalling the result.
//!
//! The emitter here keeps libyaml's state (column, indentation stack, whether the last thing
//! written was white space or indentation) and follows its decisions for the events goyaml.v2
//! produces from JSON: block mappings with sorted keys, block sequences, `{}`/`[]` for empty
//! collections, and scalars whose style is requested by goyaml.v2 (`stringv`) and then
//! checked against the characters of the value (`yaml_emitter_analyze_scalar`,
//! `yaml_emitter_select_scalar_style`). Long plain and quoted scalars fold at column 80 on a
//! single space; block scalars never fold.
//!
//! The walk recurses once per nesting level. Values parsed by this module are at most
//! [`super::MAX_DEPTH`] deep; callers building values by hand must stay in that range too.

use std::borrow::Cow;

use serde_json::Value;

use super::number::format_number;
use super::resolve::{self, STR, Schema};
use super::sort::sort_keys;

/// libyaml's `best_width`: goyaml.v2 never changes it from the default.
const BEST_WIDTH: usize = 80;
/// libyaml's `best_indent`.
const BEST_INDENT: isize = 2;
/// The longest key (in bytes) libyaml writes as a simple `key: value`.
const MAX_SIMPLE_KEY: usize = 128;

/// Prints one document.
pub(super) fn document(value: &Value) -> String {
    let mut emitter = Emitter {
        out: String::new(),
        column: 0,
        indent: -1,
        indents: Vec::new(),
        whitespace: true,
        indention: true,
    };
    emitter.node(value, Context::default());
    // The document end: finish the last line.
    emitter.write_indent();
    emitter.out
}

/// The scalar styles libyaml can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// Where a node sits, as libyaml's emitter tracks it.
#[derive(Debug, Clone, Copy, Default)]
struct Context {
    /// The node is a value or key of a block mapping.
    mapping: bool,
    /// The node is a key written as `key:` (not after `? `).
    simple_key: bool,
}

struct Emitter {
    out: String,
    /// Characters (not bytes) written on the current line.
    column: usize,
    /// Current indentation; -1 before the root collection.
    indent: isize,
    indents: Vec<isize>,
    /// The last thing written was white space (or nothing).
    whitespace: bool,
    /// Only indentation has been written on the current line.
    indention: bool,
}

impl Emitter {
    fn node(&mut self, value: &Value, context: Context) {
        match value {
            Value::Null => self.scalar("null", ScalarStyle::Plain, context),
            Value::Bool(true) => self.scalar("true", ScalarStyle::Plain, context),
            Value::Bool(false) => self.scalar("false", ScalarStyle::Plain, context),
            Value::Number(n) => self.scalar(&format_number(n), ScalarStyle::Plain, context),
            Value::String(s) => self.string(s, context),
            Value::Array(items) if items.is_empty() => self.empty_flow('[', ']'),
            Value::Object(map) if map.is_empty() => self.empty_flow('{', '}'),
            Value::Array(items) => self.block_sequence(items, context),
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                sort_keys(&mut entries, |(key, _)| key.as_str());
                self.block_mapping(&entries);
            }
        }
    }

    /// goyaml.v2's `stringv`: a literal block for text with a line feed, double quotes for
    /// text that would read back as something else (or as a YAML 1.1 base-60 float), plain
    /// otherwise; the emitter may still override that.
    fn string(&mut self, s: &str, context: Context) {
        let s = fold_nel(s);
        let requested = if s.contains('\n') {
            ScalarStyle::Literal
        } else if resolve::plain_tag(Schema::V2, &s) != STR || is_base60_float(&s) {
            ScalarStyle::DoubleQuoted
        } else {
            ScalarStyle::Plain
        };
        self.scalar(&s, requested, context);
    }

    /// `{}` or `[]`: libyaml writes an empty collection in flow style. Nothing is written
    /// inside, so the flow level and indentation it would open change nothing.
    fn empty_flow(&mut self, open: char, close: char) {
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }

    fn block_sequence(&mut self, items: &[Value], context: Context) {
        // A sequence that is a mapping value starts on the key's column ("indentless").
        self.increase_indent(false, context.mapping && !self.indention);
        for item in items {
            self.write_indent();
            self.write_indicator('-', true, false, true);
            self.node(item, Context::default());
        }
        self.pop_indent();
    }

    fn block_mapping(&mut self, entries: &[(&String, &Value)]) {
        self.increase_indent(false, false);
        for (key, value) in entries {
            self.write_indent();
            let key = fold_nel(key);
            let analysis = analyze(&key);
            if !analysis.multiline && key.len() <= MAX_SIMPLE_KEY {
                self.string(
                    &key,
                    Context {
                        mapping: true,
                        simple_key: true,
                    },
                );
                self.write_indicator(':', false, false, false);
            } else {
                self.write_indicator('?', true, false, true);
                self.string(
                    &key,
                    Context {
                        mapping: true,
                        simple_key: false,
                    },
                );
                self.write_indent();
                self.write_indicator(':', true, false, true);
            }
            self.node(
                value,
                Context {
                    mapping: true,
                    simple_key: false,
                },
            );
        }
        self.pop_indent();
    }

    fn scalar(&mut self, value: &str, requested: ScalarStyle, context: Context) {
        let analysis = analyze(value);
        let style = Self::select_style(value, requested, &analysis, context);
        self.increase_indent(true, false);
        let allow_breaks = !context.simple_key;
        match style {
            ScalarStyle::Plain => self.write_plain(value, allow_breaks),
            ScalarStyle::SingleQuoted => self.write_single_quoted(value, allow_breaks),
            ScalarStyle::DoubleQuoted => self.write_double_quoted(value, allow_breaks),
            ScalarStyle::Literal => self.write_literal(value),
        }
        self.pop_indent();
    }

    /// `yaml_emitter_select_scalar_style`. Scalars are never inside a flow collection here
    /// (only empty ones are written in flow style), so the flow-context rules drop out.
    fn select_style(
        value: &str,
        requested: ScalarStyle,
        a: &Analysis,
        context: Context,
    ) -> ScalarStyle {
        let mut style = requested;
        if context.simple_key && a.multiline {
            style = ScalarStyle::DoubleQuoted;
        }
        if style == ScalarStyle::Plain {
            if !a.block_plain_allowed {
                style = ScalarStyle::SingleQuoted;
            }
            if value.is_empty() && context.simple_key {
                style = ScalarStyle::SingleQuoted;
            }
        }
        if style == ScalarStyle::SingleQuoted && !a.single_quoted_allowed {
            style = ScalarStyle::DoubleQuoted;
        }
        if style == ScalarStyle::Literal && (!a.block_allowed || context.simple_key) {
            style = ScalarStyle::DoubleQuoted;
        }
        style
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// Copies a line break from a value: a line feed is written as the output's line break,
    /// any other break character as itself, and either way a new line starts.
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_indent(&mut self) {
        let indent = usize::try_from(self.indent.max(0)).unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        indicator: char,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        self.put(indicator);
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let mut spaces = false;
        let mut breaks = false;
        let mut chars = value.chars().peekable();
        while let Some(c) = chars.next() {
            if c == ' ' {
                let next_is_space = chars.peek() == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && !next_is_space {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator('\'', true, false, false);
        let mut spaces = false;
        let mut breaks = false;
        let last = value.len().saturating_sub(1);
        let mut chars = value.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == ' ' {
                let next_is_space = chars.peek().is_some_and(|&(_, n)| n == ' ');
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i < last
                    && !next_is_space
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator('\'', false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted(&mut self, value: &str, allow_breaks: bool) {
        let mut spaces = false;
        self.write_indicator('"', true, false, false);
        // libyaml checks for a BOM at the start of the value, not at the current character,
        // so a value starting with U+FEFF has every character escaped.
        let starts_with_bom = value.starts_with('\u{FEFF}');
        let last = value.len().saturating_sub(1);
        let mut chars = value.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if !is_printable(c) || starts_with_bom || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                self.write_escape(c);
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && i < last {
                    self.write_indent();
                    // A space at the start of a continuation line would be folded away.
                    if chars.peek().is_some_and(|&(_, n)| n == ' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator('"', false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_escape(&mut self, c: char) {
        let short = match c {
            '\0' => Some('0'),
            '\u{7}' => Some('a'),
            '\u{8}' => Some('b'),
            '\t' => Some('t'),
            '\n' => Some('n'),
            '\u{B}' => Some('v'),
            '\u{C}' => Some('f'),
            '\r' => Some('r'),
            '\u{1B}' => Some('e'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            '\u{85}' => Some('N'),
            '\u{A0}' => Some('_'),
            '\u{2028}' => Some('L'),
            '\u{2029}' => Some('P'),
            _ => None,
        };
        if let Some(short) = short {
            self.put(short);
            return;
        }
        let code = u32::from(c);
        let (letter, digits) = match code {
            0..=0xFF => ('x', 2),
            0x100..=0xFFFF => ('u', 4),
            _ => ('U', 8),
        };
        self.put(letter);
        for shift in (0..digits).rev() {
            let digit = (code >> (shift * 4)) & 0xF;
            self.put(char::from_digit(digit, 16).map_or('0', |d| d.to_ascii_uppercase()));
        }
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator('|', true, false, false);
        // Block scalar header: an explicit indentation when the content starts with a space
        // or a break (the reader could not infer it), then the chomping indicator.
        if value.starts_with(' ') || value.chars().next().is_some_and(is_break) {
            self.write_indicator('2', false, false, false);
        }
        let mut tail = value.chars().rev();
        let chomp = match (tail.next(), tail.next()) {
            (Some(last), _) if !is_break(last) => Some('-'),
            (Some(_), None) => Some('+'),
            (Some(_), Some(before)) if is_break(before) => Some('+'),
            (None, _) => Some('-'),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.write_indicator(chomp, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in value.chars() {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// What the characters of a scalar allow (`yaml_emitter_analyze_scalar`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Analysis {
    multiline: bool,
    /// Kept for fidelity with libyaml's analysis; only block context is ever used here.
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut previous_space = false;
    let mut previous_break = false;

    if value.starts_with("---") || value.starts_with("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    let mut chars = value.chars().peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        // A letter or digit after the first character sets no indicator and is neither
        // space nor break: only the "previous" flags change. The common case, done quickly.
        if !first && c.is_ascii_alphanumeric() {
            previous_space = false;
            previous_break = false;
            preceded_by_whitespace = false;
            continue;
        }
        let next = chars.peek().copied();
        let followed_by_whitespace = next.is_none_or(|n| n == ' ' || n == '\t');
        let last = next.is_none();
        if first {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if !is_printable(c) {
            special_characters = true;
        }
        if c == ' ' {
            leading_space |= first;
            trailing_space |= last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= first;
            trailing_break |= last;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = matches!(c, ' ' | '\t' | '\0') || is_break(c);
        first = false;
    }

    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain_allowed: true,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if flow_indicators {
        a.flow_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// libyaml's `is_printable`: what may appear unescaped. TAB, CR, other C0 and C1 controls,
/// DEL, U+FEFF, U+FFFE/U+FFFF and everything above the Basic Multilingual Plane are not.
fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        && c != '\u{FEFF}'
}

/// libyaml's `is_break`: CR, LF, NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR.
fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// goyaml.v2 quotes YAML 1.1 base-60 floats: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    while b.get(i).is_some_and(|&c| c.is_ascii_digit() || c == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        // `[0-5]?[0-9]`: one digit, or two when the first is 0-5.
        let d1 = b.get(i).copied().filter(u8::is_ascii_digit);
        let d2 = b.get(i + 1).copied().filter(u8::is_ascii_digit);
        match (d1, d2) {
            (Some(first), Some(_)) if first <= b'5' => i += 2,
            (Some(_), _) => i += 1,
            (None, _) => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|&c| c.is_ascii_digit() || c == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// What goyaml.v2's scanner does to a raw U+0085 (NEL) inside the JSON text kustomize hands
/// it: Go's JSON encoder leaves NEL unescaped, and the YAML scanner reads it as a line break
/// in a double-quoted scalar, folding it (with the spaces around it) into one space, or into
/// line feeds when several follow each other.
pub(super) fn fold_nel(s: &str) -> Cow<'_, str> {
    if !s.contains('\u{85}') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while chars.peek().is_some() {
        while let Some(&c) = chars.peek() {
            if c == ' ' || c == '\u{85}' {
                break;
            }
            out.push(c);
            chars.next();
        }
        let mut whitespace = String::new();
        let mut folded_breaks: Option<String> = None;
        while let Some(&c) = chars.peek() {
            match (c, &mut folded_breaks) {
                (' ', None) => whitespace.push(' '),
                (' ', Some(_)) => {}
                ('\u{85}', None) => folded_breaks = Some(String::new()),
                ('\u{85}', Some(trailing)) => trailing.push('\n'),
                _ => break,
            }
            chars.next();
        }
        match folded_breaks {
            Some(trailing) if trailing.is_empty() => out.push(' '),
            Some(trailing) => out.push_str(&trailing),
            None => out.push_str(&whitespace),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base60_floats() {
        for yes in ["1:20", "12:30", "-1:20", "1_0:5:59", "190:20:30.15", "1:2."] {
            assert!(is_base60_float(yes), "{yes}");
        }
        for no in ["12:70", "1:", ":20", "a1:20", "1:20x", "12:345", "1"] {
            assert!(!is_base60_float(no), "{no}");
        }
    }

    #[test]
    fn nel_folds_like_the_yaml_scanner() {
        assert_eq!(fold_nel("plain"), "plain");
        assert_eq!(fold_nel("x\u{85}y"), "x y");
        assert_eq!(fold_nel("a  \u{85}  b"), "a b");
        assert_eq!(fold_nel("a \u{85} \u{85} b"), "a\nb");
        assert_eq!(fold_nel("\u{85}"), " ");
        assert_eq!(fold_nel("x\u{85}"), "x ");
        assert_eq!(fold_nel("\u{85}\u{85}x\u{85}\u{85}\u{85}"), "\nx\n\n");
    }

    #[test]
    fn analysis_flags() {
        let a = analyze("a: b");
        assert!(!a.block_plain_allowed && a.single_quoted_allowed);
        let a = analyze("a\tb");
        assert!(!a.single_quoted_allowed && !a.block_allowed);
        let a = analyze("trail ");
        assert!(!a.block_plain_allowed && !a.block_allowed && a.single_quoted_allowed);
        let a = analyze("a,b");
        assert!(a.block_plain_allowed && !a.flow_plain_allowed);
    }
}
