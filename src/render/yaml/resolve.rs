//! What a scalar means: the resolvers of yaml.v3 (resources) and goyaml.v2 (kustomization
//! and other config files).
//!
//! Both libraries decide from the scalar's first byte whether it can be anything but a
//! string, then try a table of words, timestamps, Go's `ParseInt`/`ParseUint` with base
//! prefixes, a float pattern and binary/octal prefixes, in that order. They differ in the
//! table: goyaml.v2 still reads YAML 1.1 booleans (`yes`, `on`, `y`, ...), yaml.v3 does not.
//! An explicit tag either forces a string (`!!str`, `!!binary`, unknown tags) or must agree
//! with what the text resolves to.

use base64::Engine as _;

use super::error::Problem;

/// The YAML 1.1/1.2 core tags in their short form.
pub(super) const STR: &str = "!!str";
pub(super) const INT: &str = "!!int";
pub(super) const FLOAT: &str = "!!float";
pub(super) const BOOL: &str = "!!bool";
pub(super) const NULL: &str = "!!null";
pub(super) const TIMESTAMP: &str = "!!timestamp";
pub(super) const BINARY: &str = "!!binary";
pub(super) const MERGE: &str = "!!merge";

const LONG_PREFIX: &str = "tag:yaml.org,2002:";

/// `tag:yaml.org,2002:int` → `!!int`; other tags unchanged.
pub(super) fn short_tag(tag: &str) -> String {
    match tag.strip_prefix(LONG_PREFIX) {
        Some(rest) => format!("!!{rest}"),
        None => tag.to_string(),
    }
}

/// Which resolver to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Schema {
    /// yaml.v3: `true/True/TRUE` and `false/...` only.
    V3,
    /// goyaml.v2: also `y Y yes Yes YES on On ON` and `n N no No NO off Off OFF`.
    V2,
}

/// A resolved scalar.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    /// The text is a string.
    Str,
    /// A timestamp; the payload is the instant as Go's JSON encoder writes it (RFC 3339
    /// with nanoseconds), or an error if JSON cannot hold it.
    Timestamp(Result<String, Problem>),
}

impl Scalar {
    fn tag(&self) -> &'static str {
        match self {
            Self::Null => NULL,
            Self::Bool(_) => BOOL,
            Self::Int(_) | Self::Uint(_) => INT,
            Self::Float(_) => FLOAT,
            Self::Str => STR,
            Self::Timestamp(_) => TIMESTAMP,
        }
    }
}

/// What a scalar decodes to once its tag is applied.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Decoded {
    /// A value of the core schema.
    Scalar(Scalar),
    /// A string that differs from the source text (`!!binary`, decoded).
    Bytes(Vec<u8>),
}

/// Resolves a scalar that has no explicit tag and was written plain (or whose tag is the
/// non-specific `!` on a plain scalar in yaml.v3), or an explicitly tagged one. `tag` is the
/// short tag, `""` when none. Quoted and block scalars without a tag never come here: they
/// are strings.
pub(super) fn decode(schema: Schema, tag: &str, text: &str) -> Result<Decoded, Problem> {
    if tag == BINARY {
        return decode_base64(text).map(Decoded::Bytes);
    }
    if !resolvable(tag) {
        // Unknown tags (`!foo`, `!!set`, `!!merge` on a value) keep the text as a string.
        return Ok(Decoded::Scalar(Scalar::Str));
    }
    let resolved = resolve_untagged(schema, tag, text);
    match tag {
        "" | STR => Ok(Decoded::Scalar(resolved)),
        _ if tag == resolved.tag() => Ok(Decoded::Scalar(resolved)),
        FLOAT => match resolved {
            // Both libraries let `!!float` take an integer.
            #[allow(clippy::cast_precision_loss)]
            Scalar::Int(i) => Ok(Decoded::Scalar(Scalar::Float(i as f64))),
            other => Err(mismatch(&other, text, tag)),
        },
        _ => Err(mismatch(&resolved, text, tag)),
    }
}

fn mismatch(resolved: &Scalar, text: &str, tag: &str) -> Problem {
    Problem::TagMismatch {
        resolved: resolved.tag().to_string(),
        text: text.to_string(),
        tag: tag.to_string(),
    }
}

fn resolvable(tag: &str) -> bool {
    matches!(tag, "" | STR | BOOL | INT | FLOAT | NULL | TIMESTAMP)
}

/// The tag a plain scalar resolves to, as yaml.v3 records it on the node at parse time.
pub(super) fn plain_tag(schema: Schema, text: &str) -> &'static str {
    resolve_untagged(schema, "", text).tag()
}

/// The resolver proper (`resolve` in both libraries, before the tag check).
fn resolve_untagged(schema: Schema, tag: &str, text: &str) -> Scalar {
    let Some(&first) = text.as_bytes().first() else {
        return if tag == STR {
            Scalar::Str
        } else {
            Scalar::Null
        };
    };
    // Only these first bytes can start a non-string; everything else is a string at once.
    let hint = match first {
        b'+' | b'-' | b'0'..=b'9' => b'D',
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => b'M',
        b'.' => b'.',
        _ => return Scalar::Str,
    };
    if tag == STR {
        return Scalar::Str;
    }
    if let Some(word) = table(schema, text) {
        return word;
    }
    match hint {
        b'.' => match parse_go_float(text) {
            Some(f) => Scalar::Float(f),
            None => Scalar::Str,
        },
        b'D' => resolve_number(tag, text),
        _ => Scalar::Str,
    }
}

/// The exact words both resolvers look up first.
fn table(schema: Schema, text: &str) -> Option<Scalar> {
    let scalar = match text {
        "true" | "True" | "TRUE" => Scalar::Bool(true),
        "false" | "False" | "FALSE" => Scalar::Bool(false),
        "~" | "null" | "Null" | "NULL" => Scalar::Null,
        ".nan" | ".NaN" | ".NAN" => Scalar::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Scalar::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Scalar::Float(f64::NEG_INFINITY),
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" if schema == Schema::V2 => {
            Scalar::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" if schema == Schema::V2 => {
            Scalar::Bool(false)
        }
        _ => return None,
    };
    Some(scalar)
}

/// Text starting with a digit or sign: a timestamp, an integer (any Go base prefix,
/// underscores ignored), a float, or a string.
fn resolve_number(tag: &str, text: &str) -> Scalar {
    if (tag.is_empty() || tag == TIMESTAMP)
        && let Some(stamp) = parse_timestamp(text)
    {
        return Scalar::Timestamp(stamp.to_json(text));
    }
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    if let Some(i) = go_parse_int(&plain) {
        return Scalar::Int(i);
    }
    if let Some(u) = go_parse_uint(&plain) {
        return Scalar::Uint(u);
    }
    if is_yaml_float(&plain)
        && let Some(f) = parse_go_float(&plain)
    {
        return Scalar::Float(f);
    }
    // `0b`/`-0b` and `0o`/`-0o` are already covered by Go's base-0 integer parsing above;
    // the libraries' extra branches for them can only succeed where that one did.
    Scalar::Str
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `ParseFloat(s, 64)` for decimal text: `None` for bad syntax and for overflow (Go
/// reports a range error there). Underscores are allowed between digits, as in Go
/// literals. Hex floats, `Inf` and `NaN` spellings cannot reach here: callers pass only text
/// starting with `.` or matching the YAML float pattern.
fn parse_go_float(s: &str) -> Option<f64> {
    let cleaned: String;
    let s = if s.contains('_') {
        if !underscores_ok(s) {
            return None;
        }
        cleaned = s.chars().filter(|&c| c != '_').collect();
        cleaned.as_str()
    } else {
        s
    };
    if !is_yaml_float(s) {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Go's `underscoreOK` for decimal numbers: every underscore sits between two digits.
fn underscores_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let start = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let mut previous_digit = false;
    let mut previous_underscore = false;
    for &c in &b[start..] {
        if c.is_ascii_digit() {
            previous_digit = true;
            previous_underscore = false;
        } else if c == b'_' {
            if !previous_digit {
                return false;
            }
            previous_digit = false;
            previous_underscore = true;
        } else {
            if previous_underscore {
                return false;
            }
            previous_digit = false;
        }
    }
    !previous_underscore
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
pub(super) fn go_parse_int(s: &str) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let magnitude = go_parse_uint(digits)?;
    if negative {
        if magnitude <= 1 << 63 {
            // Two's complement wraps 2^63 to i64::MIN, which is the value wanted.
            #[allow(clippy::cast_possible_wrap)]
            return Some((magnitude as i64).wrapping_neg());
        }
        None
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's `strconv.ParseUint(s, 0, 64)` (no sign; `0x`, `0o`, `0b` and a leading `0` pick
/// the base; underscores were already removed by the caller).
pub(super) fn go_parse_uint(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() {
        return None;
    }
    let (base, digits): (u64, &[u8]) = if b[0] == b'0' {
        match b.get(1).map(u8::to_ascii_lowercase) {
            Some(b'b') if b.len() >= 3 => (2, &b[2..]),
            Some(b'o') if b.len() >= 3 => (8, &b[2..]),
            Some(b'x') if b.len() >= 3 => (16, &b[2..]),
            _ => (8, &b[1..]),
        }
    } else {
        (10, b)
    };
    let mut n: u64 = 0;
    for &c in digits {
        let d = match c {
            b'0'..=b'9' => u64::from(c - b'0'),
            b'a'..=b'z' | b'A'..=b'Z' => u64::from(c.to_ascii_lowercase() - b'a') + 10,
            _ => return None,
        };
        if d >= base {
            return None;
        }
        n = n.checked_mul(base)?.checked_add(d)?;
    }
    Some(n)
}

/// Decodes `!!binary` text as Go's `base64.StdEncoding` does: line breaks are ignored,
/// padding is required, non-zero trailing bits are tolerated.
fn decode_base64(text: &str) -> Result<Vec<u8>, Problem> {
    let compact: String = text.chars().filter(|&c| c != '\n' && c != '\r').collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireCanonical),
    );
    engine
        .decode(compact.as_bytes())
        .map_err(|_| Problem::InvalidBase64)
}

/// Bytes as Go's `encoding/json` writes a string holding them: each byte that does not
/// start a valid UTF-8 sequence becomes U+FFFD on its own.
pub(super) fn go_json_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.push_str(valid);
                break;
            }
            Err(error) => {
                let (valid, after) = rest.split_at(error.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                out.push('\u{FFFD}');
                // Go replaces one byte at a time, where Rust's lossy conversion would
                // swallow a whole truncated sequence.
                rest = after.get(1..).unwrap_or_default();
            }
        }
    }
    out
}

/// A timestamp as Go's `time.Parse` reads it with one of the four layouts the resolvers try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timestamp {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    /// Offset east of UTC in seconds; `None` for UTC (no zone or `Z`).
    offset: Option<i32>,
    /// Offset hours as written, which Go's JSON encoder refuses from 24 up.
    offset_hours: u32,
}

impl Timestamp {
    /// The instant as `time.Time.MarshalJSON` writes it (RFC 3339 with up to nine
    /// fraction digits, trailing zeros dropped, `Z` for a zero offset).
    fn to_json(self, text: &str) -> Result<String, Problem> {
        if self.offset.is_some() && self.offset_hours >= 24 {
            return Err(Problem::TimestampOffset {
                text: text.to_string(),
            });
        }
        let mut out = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        if self.nanos != 0 {
            let fraction = format!("{:09}", self.nanos);
            out.push('.');
            out.push_str(fraction.trim_end_matches('0'));
        }
        match self.offset {
            None | Some(0) => out.push('Z'),
            Some(offset) => {
                out.push(if offset < 0 { '-' } else { '+' });
                let minutes = offset.unsigned_abs() / 60;
                out.push_str(&format!("{:02}:{:02}", minutes / 60, minutes % 60));
            }
        }
        Ok(out)
    }
}

/// The layouts `2006-1-2T15:4:5.999999999Z07:00`, the same with `t`, `2006-1-2
/// 15:4:5.999999999` and `2006-1-2`, tried in that order, after the quick check that the
/// text starts with exactly four digits and a dash.
fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let leading = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if leading != 4 || b.get(4) != Some(&b'-') {
        return None;
    }
    [
        Layout::Zoned(b'T'),
        Layout::Zoned(b't'),
        Layout::Spaced,
        Layout::Date,
    ]
    .into_iter()
    .find_map(|layout| parse_layout(b, layout))
}

#[derive(Debug, Clone, Copy)]
enum Layout {
    Zoned(u8),
    Spaced,
    Date,
}

fn parse_layout(b: &[u8], layout: Layout) -> Option<Timestamp> {
    let mut cursor = Cursor { b, i: 0 };
    let year = cursor.fixed4()?;
    cursor.literal(b'-')?;
    let month = cursor.one_or_two()?;
    cursor.literal(b'-')?;
    let day = cursor.one_or_two()?;
    let mut stamp = Timestamp {
        year,
        month,
        day,
        hour: 0,
        minute: 0,
        second: 0,
        nanos: 0,
        offset: None,
        offset_hours: 0,
    };
    match layout {
        Layout::Date => {}
        Layout::Zoned(separator) => {
            cursor.literal(separator)?;
            cursor.clock(&mut stamp)?;
            stamp.offset = cursor.zone(&mut stamp.offset_hours)?;
        }
        Layout::Spaced => {
            cursor.spaces()?;
            cursor.clock(&mut stamp)?;
        }
    }
    if cursor.i != b.len() {
        return None;
    }
    let valid = (1..=12).contains(&month)
        && day >= 1
        && day <= days_in_month(year, month)
        && stamp.hour < 24
        && stamp.minute < 60
        && stamp.second < 60;
    valid.then_some(stamp)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A reader over timestamp text with the pieces of Go's `time.Parse` the layouts use.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn digit(&self, at: usize) -> Option<u32> {
        self.b
            .get(at)
            .filter(|c| c.is_ascii_digit())
            .map(|c| u32::from(c - b'0'))
    }

    fn fixed4(&mut self) -> Option<u32> {
        let mut n = 0;
        for k in 0..4 {
            n = n * 10 + self.digit(self.i + k)?;
        }
        self.i += 4;
        Some(n)
    }

    /// Go's `getnum(value, false)`: one digit, or two when the second is a digit.
    fn one_or_two(&mut self) -> Option<u32> {
        let first = self.digit(self.i)?;
        match self.digit(self.i + 1) {
            Some(second) => {
                self.i += 2;
                Some(first * 10 + second)
            }
            None => {
                self.i += 1;
                Some(first)
            }
        }
    }

    fn literal(&mut self, c: u8) -> Option<()> {
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    /// A space in a Go layout matches a run of spaces, and also the end of the text.
    fn spaces(&mut self) -> Option<()> {
        if self.i < self.b.len() && self.b[self.i] != b' ' {
            return None;
        }
        while self.b.get(self.i) == Some(&b' ') {
            self.i += 1;
        }
        Some(())
    }

    /// `15:4:5.999999999`
    fn clock(&mut self, stamp: &mut Timestamp) -> Option<()> {
        stamp.hour = self.one_or_two()?;
        self.literal(b':')?;
        stamp.minute = self.one_or_two()?;
        self.literal(b':')?;
        stamp.second = self.one_or_two()?;
        // An optional fraction: a period or comma and any number of digits, of which Go
        // keeps the first nine.
        let is_separator = matches!(self.b.get(self.i), Some(b'.' | b','));
        if is_separator && self.digit(self.i + 1).is_some() {
            self.i += 1;
            let mut nanos = 0;
            let mut count = 0;
            while let Some(d) = self.digit(self.i) {
                if count < 9 {
                    nanos = nanos * 10 + d;
                    count += 1;
                }
                self.i += 1;
            }
            for _ in count..9 {
                nanos *= 10;
            }
            stamp.nanos = nanos;
        }
        Some(())
    }

    /// `Z07:00`: `Z`, or a sign, two digits, a colon and two digits. Go accepts offsets up
    /// to 24 hours and 60 minutes here.
    fn zone(&mut self, hours_out: &mut u32) -> Option<Option<i32>> {
        if self.b.get(self.i) == Some(&b'Z') {
            self.i += 1;
            return Some(None);
        }
        let rest = self.b.get(self.i..)?;
        if rest.len() < 6 || rest[3] != b':' {
            return None;
        }
        let two = |at: usize| -> Option<u32> {
            Some(self.digit(self.i + at)? * 10 + self.digit(self.i + at + 1)?)
        };
        let hours = two(1)?;
        let minutes = two(4)?;
        if hours > 24 || minutes > 60 {
            return None;
        }
        let seconds = i32::try_from((hours * 60 + minutes) * 60).ok()?;
        let offset = match rest[0] {
            b'+' => seconds,
            b'-' => -seconds,
            _ => return None,
        };
        self.i += 6;
        *hours_out = hours;
        Some(Some(offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v3(text: &str) -> Scalar {
        match decode(Schema::V3, "", text) {
            Ok(Decoded::Scalar(s)) => s,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn v2(text: &str) -> Scalar {
        match decode(Schema::V2, "", text) {
            Ok(Decoded::Scalar(s)) => s,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn integers_in_every_go_base() {
        assert_eq!(v3("3"), Scalar::Int(3));
        assert_eq!(v3("0x1F"), Scalar::Int(31));
        assert_eq!(v3("0o17"), Scalar::Int(15));
        assert_eq!(v3("017"), Scalar::Int(15));
        assert_eq!(v3("1_000"), Scalar::Int(1000));
        assert_eq!(v3("0b101"), Scalar::Int(5));
        assert_eq!(v3("-0b101"), Scalar::Int(-5));
        assert_eq!(v3("+5"), Scalar::Int(5));
        assert_eq!(v3("-0x10"), Scalar::Int(-16));
        assert_eq!(v3("0"), Scalar::Int(0));
        assert_eq!(v3("-9223372036854775808"), Scalar::Int(i64::MIN));
        assert_eq!(
            v3("12345678901234567890"),
            Scalar::Uint(12_345_678_901_234_567_890)
        );
        // Not octal, but the float pattern accepts it.
        assert_eq!(v3("08"), Scalar::Float(8.0));
        assert_eq!(v3("0x"), Scalar::Str);
        assert_eq!(v3("0xG"), Scalar::Str);
        assert_eq!(v3("-"), Scalar::Str);
        assert_eq!(v3("1__0"), Scalar::Int(10));
    }

    #[test]
    fn floats_and_specials() {
        assert_eq!(v3("1.0"), Scalar::Float(1.0));
        assert_eq!(v3("1.50"), Scalar::Float(1.5));
        assert_eq!(v3("1e3"), Scalar::Float(1000.0));
        assert_eq!(v3(".5"), Scalar::Float(0.5));
        assert_eq!(v3("-0.0"), Scalar::Float(-0.0));
        assert_eq!(v3("1."), Scalar::Float(1.0));
        assert_eq!(
            v3("123456789012345678901234"),
            Scalar::Float(1.234_567_890_123_456_8e23)
        );
        assert!(matches!(v3(".inf"), Scalar::Float(f) if f == f64::INFINITY));
        assert!(matches!(v3("-.Inf"), Scalar::Float(f) if f == f64::NEG_INFINITY));
        assert!(matches!(v3(".NaN"), Scalar::Float(f) if f.is_nan()));
        // Overflow is a range error in Go, so the text stays a string.
        assert_eq!(v3("1e400"), Scalar::Str);
        assert_eq!(v3("."), Scalar::Str);
        assert_eq!(v3(".9_1"), Scalar::Float(0.91));
        assert_eq!(v3("._9"), Scalar::Str);
        assert_eq!(v3(".9_"), Scalar::Str);
        assert_eq!(v3(".5e1_0"), Scalar::Float(5e9));
        assert_eq!(v3("1e"), Scalar::Str);
        assert_eq!(v3("e3"), Scalar::Str);
        assert_eq!(v3("1.2.3"), Scalar::Str);
        assert_eq!(v3("12:30"), Scalar::Str);
    }

    #[test]
    fn words_differ_between_v3_and_v2() {
        for yes in ["y", "Y", "yes", "Yes", "YES", "on", "On", "ON"] {
            assert_eq!(v3(yes), Scalar::Str, "{yes}");
            assert_eq!(v2(yes), Scalar::Bool(true), "{yes}");
        }
        for no in ["n", "N", "no", "No", "NO", "off", "Off", "OFF"] {
            assert_eq!(v3(no), Scalar::Str, "{no}");
            assert_eq!(v2(no), Scalar::Bool(false), "{no}");
        }
        for word in ["yEs", "oN", "tRUE", "nULL"] {
            assert_eq!(v2(word), Scalar::Str, "{word}");
        }
        assert_eq!(v3("true"), Scalar::Bool(true));
        assert_eq!(v3("True"), Scalar::Bool(true));
        assert_eq!(v3("FALSE"), Scalar::Bool(false));
        for null in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(v3(null), Scalar::Null, "{null}");
        }
        assert_eq!(v3("<<"), Scalar::Str);
    }

    fn stamp(text: &str) -> Option<String> {
        match v3(text) {
            Scalar::Timestamp(Ok(s)) => Some(s),
            _ => None,
        }
    }

    #[test]
    fn timestamps_as_go_reads_and_json_writes_them() {
        assert_eq!(stamp("2001-12-14").as_deref(), Some("2001-12-14T00:00:00Z"));
        assert_eq!(stamp("2024-1-2").as_deref(), Some("2024-01-02T00:00:00Z"));
        assert_eq!(
            stamp("2001-12-14t21:59:43.10-05:00").as_deref(),
            Some("2001-12-14T21:59:43.1-05:00")
        );
        assert_eq!(
            stamp("2001-12-14T21:59:43Z").as_deref(),
            Some("2001-12-14T21:59:43Z")
        );
        assert_eq!(
            stamp("2001-12-14T21:59:43+00:00").as_deref(),
            Some("2001-12-14T21:59:43Z")
        );
        assert_eq!(
            stamp("2001-12-14 21:59:43.10").as_deref(),
            Some("2001-12-14T21:59:43.1Z")
        );
        assert_eq!(
            stamp("2001-12-14  1:2:3").as_deref(),
            Some("2001-12-14T01:02:03Z")
        );
        assert_eq!(
            stamp("2001-12-14T21:59:43.1234567891Z").as_deref(),
            Some("2001-12-14T21:59:43.123456789Z")
        );
        assert_eq!(
            stamp("2001-12-14T21:59:43,5Z").as_deref(),
            Some("2001-12-14T21:59:43.5Z")
        );
        assert_eq!(stamp("2000-02-29").as_deref(), Some("2000-02-29T00:00:00Z"));
        assert_eq!(stamp("2001-02-29"), None);
        assert_eq!(stamp("2001-13-01"), None);
        assert_eq!(stamp("2001-12-14T25:00:00Z"), None);
        assert_eq!(stamp("2001-12-14T21:59:43"), None);
        assert_eq!(stamp("20011-12-14"), None);
        assert_eq!(stamp("2001-012-14"), None);
        assert!(matches!(
            v3("2001-12-14T21:59:43+24:00"),
            Scalar::Timestamp(Err(_))
        ));
        // The quick check: not four digits and a dash.
        assert_eq!(v3("20240102"), Scalar::Int(20_240_102));
        // goyaml.v2 keeps the text of a timestamp when decoding into interface{}; the
        // resolver itself still recognises it (what matters for quoting on output).
        assert!(matches!(v2("2001-12-14"), Scalar::Timestamp(_)));
    }

    #[test]
    fn explicit_tags() {
        assert_eq!(
            decode(Schema::V3, INT, "7"),
            Ok(Decoded::Scalar(Scalar::Int(7)))
        );
        assert_eq!(
            decode(Schema::V3, STR, "123"),
            Ok(Decoded::Scalar(Scalar::Str))
        );
        assert_eq!(
            decode(Schema::V3, FLOAT, "1"),
            Ok(Decoded::Scalar(Scalar::Float(1.0)))
        );
        assert_eq!(
            decode(Schema::V3, NULL, ""),
            Ok(Decoded::Scalar(Scalar::Null))
        );
        assert_eq!(
            decode(Schema::V3, "!foo", "12"),
            Ok(Decoded::Scalar(Scalar::Str))
        );
        assert_eq!(
            decode(Schema::V3, BINARY, "aGVsbG8="),
            Ok(Decoded::Bytes(b"hello".to_vec()))
        );
        assert_eq!(
            decode(Schema::V3, BINARY, "aGVs\nbG8="),
            Ok(Decoded::Bytes(b"hello".to_vec()))
        );
        assert_eq!(
            decode(Schema::V3, BINARY, "aGVsbG8"),
            Err(Problem::InvalidBase64)
        );
        assert_eq!(
            decode(Schema::V3, INT, "abc"),
            Err(Problem::TagMismatch {
                resolved: STR.into(),
                text: "abc".into(),
                tag: INT.into()
            })
        );
        assert!(decode(Schema::V3, INT, "1.5").is_err());
        assert!(decode(Schema::V3, BOOL, "yes").is_err());
        assert_eq!(
            decode(Schema::V2, BOOL, "yes"),
            Ok(Decoded::Scalar(Scalar::Bool(true)))
        );
        assert!(decode(Schema::V3, TIMESTAMP, "5").is_err());
    }

    #[test]
    fn go_json_replaces_each_bad_byte() {
        assert_eq!(go_json_string(b"ok"), "ok");
        assert_eq!(go_json_string(b"a\xE2\x82b"), "a\u{FFFD}\u{FFFD}b");
        assert_eq!(go_json_string(b"\xFF"), "\u{FFFD}");
    }

    #[test]
    fn plain_tags_as_yaml_v3_records_them() {
        assert_eq!(plain_tag(Schema::V3, "abc"), STR);
        assert_eq!(plain_tag(Schema::V3, "1"), INT);
        assert_eq!(plain_tag(Schema::V3, "~"), NULL);
        assert_eq!(plain_tag(Schema::V3, "2001-12-14"), TIMESTAMP);
        assert_eq!(short_tag("tag:yaml.org,2002:int"), INT);
        assert_eq!(short_tag("!foo"), "!foo");
    }
}
