//! The expression language of `fluxcd/pkg/envsubst` v1.5.0, the version kustomize-controller
//! v1.7 (Flux 2.7) links: a scanner and recursive-descent parser over `${…}` expressions, and
//! their evaluation.
//!
//! The scanner is reproduced with its exact state machine (reads, one-step unreads, in-place
//! removal of escape characters, per-context acceptance of characters) rather than written
//! as a clean grammar, because its corner cases are observable: which inputs are errors,
//! where an expression ends, what a default's text is. Values are handled as bytes, like Go
//! strings: substring and pattern operations count bytes and may split a character.

use super::SubstituteError;

/// What the scanner returns for the end of input. Go's scanner also uses rune 0 for the end,
/// so a NUL character in the text ends it the same way.
const EOF: char = '\0';

/// Nested expressions deeper than this are refused instead of exhausting the stack.
const MAX_DEPTH: usize = 512;

// Scanner modes: which token kinds `scan` may produce.
const SCAN_IDENT: u8 = 1;
const SCAN_LBRACK: u8 = 2;
const SCAN_RBRACK: u8 = 4;
const SCAN_ESCAPE: u8 = 8;

// Escapable characters inside an identifier token.
const ESCAPE_DOLLAR: u8 = 1;
const ESCAPE_BACKSLASH: u8 = 2;
const ESCAPE_ALL: u8 = ESCAPE_DOLLAR | ESCAPE_BACKSLASH;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Illegal,
    Eof,
    Ident,
    Lbrack,
    Rbrack,
}

/// Which characters an identifier token may contain; `i` is the byte offset just past the
/// character within the token (1 for a first ASCII character).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accept {
    Any,
    Ident,
    Colon,
    OneHash,
    NotClosing,
    HashFunc,
    PercentFunc,
    DefaultFunc,
    ReplaceFunc,
    OneEqual,
    OneColon,
    RejectColonClose,
    Slash,
    NotSlash,
    CasingFunc,
}

impl Accept {
    fn accepts(self, r: char, i: usize) -> bool {
        match self {
            Self::Any => true,
            Self::Ident => is_go_letter(r) || is_go_digit(r) || r == '_',
            Self::Colon => r == ':',
            Self::OneHash => r == '#' && i == 1,
            Self::NotClosing => r != '}',
            Self::HashFunc => r == '#' && i < 3,
            Self::PercentFunc => r == '%' && i < 3,
            Self::DefaultFunc => {
                (i == 1 && r == ':') || (i == 2 && matches!(r, '=' | '-' | '?' | '+'))
            }
            Self::ReplaceFunc => (i == 1 && r == '/') || (i == 2 && matches!(r, '/' | '#' | '%')),
            Self::OneEqual => i == 1 && r == '=',
            Self::OneColon => i == 1 && r == ':',
            Self::RejectColonClose => r != ':' && r != '}',
            Self::Slash => r == '/',
            Self::NotSlash => r != '/',
            Self::CasingFunc => (r == ',' || r == '^') && i < 3,
        }
    }
}

/// Go's `unicode.IsLetter` (category L). Rust's `is_alphabetic` also admits letter numbers
/// and some combining marks; outside ASCII the two can disagree on rare characters, which
/// only matters for a variable reference spelled with them.
fn is_go_letter(r: char) -> bool {
    if r.is_ascii() {
        return r.is_ascii_alphabetic();
    }
    r.is_alphabetic() && !r.is_numeric()
}

/// Go's `unicode.IsDigit` (category Nd), approximated outside ASCII by Rust's `is_numeric`
/// minus characters that are also alphabetic (letter numbers such as Roman numerals).
fn is_go_digit(r: char) -> bool {
    if r.is_ascii() {
        return r.is_ascii_digit();
    }
    r.is_numeric() && !r.is_alphabetic()
}

/// Decodes one character at the start of `bytes` as Go's `utf8.DecodeRune` does: an invalid
/// or truncated sequence is U+FFFD of width 1.
pub(super) fn decode(bytes: &[u8]) -> (char, usize) {
    let Some(&lead) = bytes.first() else {
        return (char::REPLACEMENT_CHARACTER, 0);
    };
    let len = match lead {
        0x00..=0x7f => return (char::from(lead), 1),
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return (char::REPLACEMENT_CHARACTER, 1),
    };
    match bytes.get(..len).map(std::str::from_utf8) {
        Some(Ok(s)) => match s.chars().next() {
            Some(c) => (c, len),
            None => (char::REPLACEMENT_CHARACTER, 1),
        },
        _ => (char::REPLACEMENT_CHARACTER, 1),
    }
}

/// Decodes every character of `bytes`, invalid bytes becoming U+FFFD one byte at a time
/// (Go's `for range` over a string, or `[]rune(s)`).
pub(super) fn runes(bytes: &[u8]) -> Vec<char> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        let (c, width) = decode(rest);
        out.push(c);
        rest = &rest[width.max(1)..];
    }
    out
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

struct Scanner {
    buf: Vec<u8>,
    pos: usize,
    start: usize,
    width: usize,
    mode: u8,
    escape_chars: u8,
    accept: Accept,
}

impl Scanner {
    fn new(text: &str) -> Self {
        Self {
            buf: text.as_bytes().to_vec(),
            pos: 0,
            start: 0,
            width: 0,
            mode: 0,
            escape_chars: 0,
            accept: Accept::Any,
        }
    }

    fn read(&mut self) -> char {
        let Some(rest) = self.buf.get(self.pos..).filter(|r| !r.is_empty()) else {
            self.width = 0;
            return EOF;
        };
        let (c, width) = decode(rest);
        self.width = width;
        self.pos += width;
        c
    }

    /// Steps back by the width of the last read, which is not always the character before
    /// `pos`: Go's scanner has the same one-step memory, and the parser relies on it.
    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(self.width);
    }

    /// Deletes the escape character just read, so the character after it is taken
    /// literally and already consumed.
    fn skip(&mut self) {
        if self.pos > 0 && self.pos <= self.buf.len() {
            self.buf.remove(self.pos - 1);
        }
    }

    fn peek(&mut self) -> char {
        let r = self.read();
        self.unread();
        r
    }

    fn text(&self) -> Vec<u8> {
        self.buf
            .get(self.start..self.pos)
            .map(<[u8]>::to_vec)
            .unwrap_or_default()
    }

    fn scan(&mut self) -> Token {
        self.start = self.pos;
        let r = self.read();
        if r == EOF {
            Token::Eof
        } else if self.scan_lbrack(r) {
            Token::Lbrack
        } else if self.scan_rbrack(r) {
            Token::Rbrack
        } else if self.scan_ident(r) {
            Token::Ident
        } else {
            Token::Illegal
        }
    }

    fn scan_ident(&mut self, r: char) -> bool {
        if self.mode & SCAN_IDENT == 0 {
            return false;
        }
        if self.scan_escaped(r) {
            self.skip();
        } else if !self.accept.accepts(r, self.pos - self.start) {
            return false;
        }
        loop {
            let r = self.read();
            if r == EOF {
                self.unread();
                break;
            }
            if self.scan_lbrack(r) {
                self.unread();
                self.unread();
                break;
            }
            if self.scan_escaped(r) {
                self.skip();
                continue;
            }
            if !self.accept.accepts(r, self.pos - self.start) {
                self.unread();
                break;
            }
        }
        true
    }

    fn scan_lbrack(&mut self, r: char) -> bool {
        if self.mode & SCAN_LBRACK == 0 {
            return false;
        }
        if r == '$' {
            if self.read() == '{' {
                return true;
            }
            self.unread();
        }
        false
    }

    fn scan_rbrack(&self, r: char) -> bool {
        self.mode & SCAN_RBRACK != 0 && r == '}'
    }

    fn scan_escaped(&mut self, r: char) -> bool {
        if self.mode & SCAN_ESCAPE == 0 {
            return false;
        }
        if r == '$' && self.escape_chars & ESCAPE_DOLLAR != 0 && self.peek() == '$' {
            return true;
        }
        if r == '\\' && self.escape_chars & ESCAPE_BACKSLASH != 0 {
            return matches!(self.peek(), '/' | '\\');
        }
        false
    }
}

/// A parsed template piece.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Text(Vec<u8>),
    Func(Func),
}

/// `${param<name>args…}`: `name` is the operator (`""` for a bare reference, `:=`, `//`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Func {
    param: String,
    name: String,
    args: Vec<Node>,
}

impl Func {
    fn new(param: String) -> Self {
        Self {
            param,
            name: String::new(),
            args: Vec::new(),
        }
    }
}

struct Parser {
    scanner: Scanner,
    depth: usize,
}

type ParseResult<T> = Result<T, SubstituteError>;

impl Parser {
    fn parse(text: &str) -> ParseResult<Vec<Node>> {
        let mut parser = Self {
            scanner: Scanner::new(text),
            depth: 0,
        };
        let mut nodes = Vec::new();
        loop {
            let s = &mut parser.scanner;
            s.accept = Accept::Any;
            s.mode = SCAN_IDENT | SCAN_LBRACK | SCAN_ESCAPE;
            s.escape_chars = ESCAPE_DOLLAR;
            match s.scan() {
                Token::Ident => nodes.push(Node::Text(s.text())),
                Token::Eof => return Ok(nodes),
                Token::Lbrack => nodes.push(parser.parse_func()?),
                Token::Illegal | Token::Rbrack => return Err(SubstituteError::BadSubstitution),
            }
        }
    }

    fn ident_name(&self) -> String {
        String::from_utf8_lossy(&self.scanner.text()).into_owned()
    }

    /// After `${`.
    fn parse_func(&mut self) -> ParseResult<Node> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SubstituteError::TooDeep { limit: MAX_DEPTH });
        }
        let node = self.parse_func_inner();
        self.depth -= 1;
        node
    }

    fn parse_func_inner(&mut self) -> ParseResult<Node> {
        self.scanner.escape_chars = ESCAPE_ALL;
        if self.scanner.peek() == '#' {
            return self.parse_len_func();
        }
        self.scanner.accept = Accept::Ident;
        self.scanner.mode = SCAN_IDENT;
        let name = match self.scanner.scan() {
            Token::Ident => self.ident_name(),
            _ => return Err(SubstituteError::VariableName),
        };
        match self.scanner.peek() {
            ':' => return self.parse_default_or_substr(name),
            '=' => return self.parse_default_func(name),
            ',' | '^' => return self.parse_casing_func(name),
            '/' => return self.parse_replace_func(name),
            '#' => return self.parse_remove_func(name, Accept::HashFunc),
            '%' => return self.parse_remove_func(name, Accept::PercentFunc),
            _ => {}
        }
        self.scanner.accept = Accept::Ident;
        self.scanner.mode = SCAN_RBRACK;
        match self.scanner.scan() {
            Token::Rbrack => Ok(Node::Func(Func::new(name))),
            _ => Err(SubstituteError::MissingClosingBrace),
        }
    }

    fn parse_param(&mut self, accept: Accept, mode: u8) -> ParseResult<Node> {
        self.scanner.accept = accept;
        self.scanner.mode = mode | SCAN_LBRACK;
        match self.scanner.scan() {
            Token::Lbrack => self.parse_func(),
            Token::Ident | Token::Rbrack => Ok(Node::Text(self.scanner.text())),
            Token::Eof | Token::Illegal => Err(SubstituteError::FuncSubstitution),
        }
    }

    fn parse_default_or_substr(&mut self, name: String) -> ParseResult<Node> {
        // Read the ':' and look one further; the second unread steps back by the width of
        // the peeked character, not of the ':' (a Go quirk kept on purpose: a non-ASCII or
        // missing character after ':' lands the scanner elsewhere and the parse fails).
        self.scanner.read();
        let r = self.scanner.peek();
        self.scanner.unread();
        match r {
            '=' | '-' | '?' | '+' => self.parse_default_func(name),
            _ => self.parse_substr_func(name),
        }
    }

    fn parse_substr_func(&mut self, name: String) -> ParseResult<Node> {
        let mut node = Func::new(name);
        self.scanner.accept = Accept::OneColon;
        self.scanner.mode = SCAN_IDENT;
        match self.scanner.scan() {
            Token::Ident => node.name = self.ident_name(),
            _ => return Err(SubstituteError::BadSubstitution),
        }
        node.args
            .push(self.parse_param(Accept::RejectColonClose, SCAN_IDENT)?);
        self.scanner.accept = Accept::Colon;
        self.scanner.mode = SCAN_IDENT | SCAN_RBRACK;
        match self.scanner.scan() {
            Token::Rbrack => return Ok(Node::Func(node)),
            Token::Ident => {}
            _ => return Err(SubstituteError::BadSubstitution),
        }
        node.args
            .push(self.parse_param(Accept::NotClosing, SCAN_IDENT)?);
        self.consume_rbrack()?;
        Ok(Node::Func(node))
    }

    fn parse_remove_func(&mut self, name: String, accept: Accept) -> ParseResult<Node> {
        let mut node = Func::new(name);
        self.scanner.accept = accept;
        self.scanner.mode = SCAN_IDENT;
        match self.scanner.scan() {
            Token::Ident => node.name = self.ident_name(),
            _ => return Err(SubstituteError::BadSubstitution),
        }
        node.args
            .push(self.parse_param(Accept::NotClosing, SCAN_IDENT)?);
        self.consume_rbrack()?;
        Ok(Node::Func(node))
    }

    fn parse_replace_func(&mut self, name: String) -> ParseResult<Node> {
        let mut node = Func::new(name);
        self.scanner.accept = Accept::ReplaceFunc;
        self.scanner.mode = SCAN_IDENT;
        match self.scanner.scan() {
            Token::Ident => node.name = self.ident_name(),
            _ => return Err(SubstituteError::BadSubstitution),
        }
        node.args
            .push(self.parse_param(Accept::NotSlash, SCAN_IDENT | SCAN_ESCAPE)?);
        self.scanner.accept = Accept::Slash;
        self.scanner.mode = SCAN_IDENT;
        if self.scanner.scan() != Token::Ident {
            return Err(SubstituteError::BadSubstitution);
        }
        if self.scanner.peek() == '}' {
            self.consume_rbrack()?;
            return Ok(Node::Func(node));
        }
        node.args
            .push(self.parse_param(Accept::NotClosing, SCAN_IDENT | SCAN_ESCAPE)?);
        self.consume_rbrack()?;
        Ok(Node::Func(node))
    }

    fn parse_default_func(&mut self, name: String) -> ParseResult<Node> {
        let mut node = Func::new(name);
        self.scanner.accept = if self.scanner.peek() == '=' {
            Accept::OneEqual
        } else {
            Accept::DefaultFunc
        };
        self.scanner.mode = SCAN_IDENT;
        match self.scanner.scan() {
            Token::Ident => node.name = self.ident_name(),
            _ => return Err(SubstituteError::DefaultFunction),
        }
        loop {
            if self.scanner.peek() == '}' {
                self.consume_rbrack()?;
                return Ok(Node::Func(node));
            }
            node.args
                .push(self.parse_param(Accept::NotClosing, SCAN_IDENT)?);
        }
    }

    fn parse_casing_func(&mut self, name: String) -> ParseResult<Node> {
        let mut node = Func::new(name);
        self.scanner.accept = Accept::CasingFunc;
        self.scanner.mode = SCAN_IDENT;
        match self.scanner.scan() {
            Token::Ident => node.name = self.ident_name(),
            _ => return Err(SubstituteError::BadSubstitution),
        }
        self.consume_rbrack()?;
        Ok(Node::Func(node))
    }

    /// `${#name}`.
    fn parse_len_func(&mut self) -> ParseResult<Node> {
        let mut node = Func::new(String::new());
        self.scanner.accept = Accept::OneHash;
        self.scanner.mode = SCAN_IDENT;
        match self.scanner.scan() {
            Token::Ident => node.name = self.ident_name(),
            _ => return Err(SubstituteError::BadSubstitution),
        }
        self.scanner.accept = Accept::Ident;
        self.scanner.mode = SCAN_IDENT;
        match self.scanner.scan() {
            Token::Ident => node.param = self.ident_name(),
            _ => return Err(SubstituteError::BadSubstitution),
        }
        self.consume_rbrack()?;
        Ok(Node::Func(node))
    }

    fn consume_rbrack(&mut self) -> ParseResult<()> {
        self.scanner.mode = SCAN_RBRACK;
        if self.scanner.scan() == Token::Rbrack {
            Ok(())
        } else {
            Err(SubstituteError::BadSubstitution)
        }
    }
}

/// Looks a variable up: `None` means unset. The caller decides what non-strict mode
/// reports for a missing variable (Flux: set, and empty).
pub(super) type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// Parses and evaluates `text`. Only a bare `${name}` of an unset variable is an error: in
/// envsubst v1.5.0 every operator, `${#name}` and `${name^^}` included, evaluates an unset
/// variable as empty.
pub(super) fn eval(text: &str, lookup: &Lookup<'_>) -> Result<String, SubstituteError> {
    let nodes = Parser::parse(text)?;
    let mut out = Vec::with_capacity(text.len());
    for node in &nodes {
        eval_node(node, lookup, &mut out)?;
    }
    String::from_utf8(out).map_err(|_| SubstituteError::InvalidUtf8)
}

fn eval_node(node: &Node, lookup: &Lookup<'_>, out: &mut Vec<u8>) -> Result<(), SubstituteError> {
    match node {
        Node::Text(text) => out.extend_from_slice(text),
        Node::Func(func) => {
            // Arguments are evaluated first, used or not, as envsubst does: a default that
            // names an unset variable fails in strict mode even when it is not needed.
            let mut args = Vec::with_capacity(func.args.len());
            for arg in &func.args {
                let mut value = Vec::new();
                eval_node(arg, lookup, &mut value)?;
                args.push(value);
            }
            let value = lookup(&func.param);
            if func.name.is_empty() && value.is_none() {
                return Err(SubstituteError::VariableNotSet {
                    name: func.param.clone(),
                });
            }
            let value = value.unwrap_or_default().into_bytes();
            out.extend(apply(func, value, &args)?);
        }
    }
    Ok(())
}

/// The operator's function, chosen as envsubst's `lookupFunc` does; unknown operators
/// (including every default form and mixed casings like `,^`) fall back to "default".
fn apply(func: &Func, s: Vec<u8>, args: &[Vec<u8>]) -> Result<Vec<u8>, SubstituteError> {
    let arg = |i: usize| args.get(i).map(Vec::as_slice);
    Ok(match func.name.as_str() {
        "," => map_first(&s, to_lower),
        ",," => map_all(&s, to_lower),
        "^" => map_first(&s, to_upper),
        "^^" => map_all(&s, to_upper),
        "#" if args.is_empty() => s.len().to_string().into_bytes(),
        "#" => arg(0).map_or(s.clone(), |p| trim_shortest(&s, p)),
        "##" => arg(0).map_or(s.clone(), |p| trim_longest(&s, p)),
        "%" => arg(0).map_or(s.clone(), |p| {
            reversed(&trim_shortest(&reversed(&s), &reversed(p)))
        }),
        "%%" => arg(0).map_or(s.clone(), |p| {
            reversed(&trim_longest(&reversed(&s), &reversed(p)))
        }),
        ":" => substring(func, s, args)?,
        "/#" => match args {
            [old, new] if s.starts_with(old) => go_replace(&s, old, new, Some(1)),
            _ => s,
        },
        "/%" => match args {
            [old, new] if s.ends_with(old) => {
                let mut out = s[..s.len() - old.len()].to_vec();
                out.extend_from_slice(new);
                out
            }
            _ => s,
        },
        "/" => match args {
            [] => s,
            [old] => go_replace(&s, old, b"", Some(1)),
            [old, new, ..] => go_replace(&s, old, new, Some(1)),
        },
        "//" => match args {
            [] => s,
            [old] => go_replace(&s, old, b"", None),
            [old, new, ..] => go_replace(&s, old, new, None),
        },
        _ => {
            if s.is_empty() && !args.is_empty() {
                args.concat()
            } else {
                s
            }
        }
    })
}

/// Go's `unicode.ToLower`: a one-to-one (simple) mapping. Rust's full mapping can yield
/// several characters; those keep the character, except U+0130 whose simple lower case is
/// `i`.
fn to_lower(c: char) -> char {
    if c == '\u{130}' {
        return 'i';
    }
    single(c.to_lowercase()).unwrap_or(c)
}

/// Go's `unicode.ToUpper`, a simple mapping (see [`to_lower`]). Where Rust's full mapping
/// yields several characters Go keeps the character, except Greek letters with a
/// subscript iota, whose simple upper case is the matching capital with prosgegrammeni.
fn to_upper(c: char) -> char {
    let code = u32::from(c);
    let simple = match code {
        0x1f80..=0x1f87 | 0x1f90..=0x1f97 | 0x1fa0..=0x1fa7 => Some(code + 8),
        0x1fb3 | 0x1fc3 | 0x1ff3 => Some(code + 9),
        _ => None,
    };
    simple
        .and_then(char::from_u32)
        .or_else(|| single(c.to_uppercase()))
        .unwrap_or(c)
}

fn single(mut chars: impl Iterator<Item = char>) -> Option<char> {
    let first = chars.next()?;
    chars.next().is_none().then_some(first)
}

/// Go's `strings.Map` with a one-to-one mapping: invalid bytes become U+FFFD.
fn map_all(s: &[u8], f: fn(char) -> char) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in runes(s) {
        push_char(&mut out, f(c));
    }
    out
}

/// Maps the first character only; the rest is copied byte for byte.
fn map_first(s: &[u8], f: fn(char) -> char) -> Vec<u8> {
    if s.is_empty() {
        return Vec::new();
    }
    let (c, width) = decode(s);
    let mut out = Vec::with_capacity(s.len());
    push_char(&mut out, f(c));
    out.extend_from_slice(&s[width..]);
    out
}

/// `[]rune` reversal: invalid bytes become U+FFFD.
fn reversed(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in runes(s).into_iter().rev() {
        push_char(&mut out, c);
    }
    out
}

/// Go's `strconv.Atoi` on a 64-bit platform.
fn atoi(bytes: &[u8]) -> Option<i64> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// `${var:pos}` and `${var:pos:len}` over bytes. An unparsable position or length leaves
/// the value unchanged. Where envsubst would slice out of range (a negative length) Go
/// panics; that is reported as an error.
fn substring(func: &Func, s: Vec<u8>, args: &[Vec<u8>]) -> Result<Vec<u8>, SubstituteError> {
    let Some(first) = args.first() else {
        return Ok(s);
    };
    let Some(mut pos) = atoi(first) else {
        return Ok(s);
    };
    let len = i64::try_from(s.len()).unwrap_or(i64::MAX);
    if pos < 0 {
        pos = (len + pos).max(0);
    }
    let from_pos = |pos: i64| -> Vec<u8> {
        if pos < len {
            usize::try_from(pos)
                .ok()
                .and_then(|p| s.get(p..))
                .map(<[u8]>::to_vec)
                .unwrap_or_default()
        } else {
            Vec::new()
        }
    };
    let Some(second) = args.get(1) else {
        return Ok(from_pos(pos));
    };
    let Some(length) = atoi(second) else {
        return Ok(s);
    };
    // Go's int addition wraps; so does this, to reach the same branch.
    let end = pos.wrapping_add(length);
    if end >= len {
        return Ok(from_pos(pos));
    }
    let range = usize::try_from(pos)
        .ok()
        .zip(usize::try_from(end).ok())
        .filter(|(p, e)| p <= e);
    match range.and_then(|(p, e)| s.get(p..e)) {
        Some(slice) => Ok(slice.to_vec()),
        None => Err(SubstituteError::SliceBounds {
            name: func.param.clone(),
            start: pos,
            end,
        }),
    }
}

/// Go's `strings.Replace(s, old, new, n)`; `None` replaces every match. An empty `old`
/// matches before each character and at the end.
fn go_replace(s: &[u8], old: &[u8], new: &[u8], n: Option<usize>) -> Vec<u8> {
    if old == new || n == Some(0) {
        return s.to_vec();
    }
    let matches = if old.is_empty() {
        runes(s).len() + 1
    } else {
        count(s, old)
    };
    if matches == 0 {
        return s.to_vec();
    }
    let n = n.map_or(matches, |n| n.min(matches));
    let mut out = Vec::with_capacity(s.len() + n * new.len());
    let mut start = 0;
    for i in 0..n {
        let mut j = start;
        if old.is_empty() {
            if i > 0 {
                j += decode(&s[start..]).1;
            }
        } else {
            j += find(&s[start..], old).unwrap_or(0);
        }
        out.extend_from_slice(&s[start..j]);
        out.extend_from_slice(new);
        start = j + old.len();
    }
    out.extend_from_slice(&s[start..]);
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Non-overlapping occurrences of a non-empty `needle`.
fn count(haystack: &[u8], needle: &[u8]) -> usize {
    let mut n = 0;
    let mut rest = haystack;
    while let Some(i) = find(rest, needle) {
        n += 1;
        rest = &rest[i + needle.len()..];
    }
    n
}

/// Removes the shortest non-empty prefix matching `pattern`. Every prefix is tried, from
/// the longest down, and a pattern error at any of them leaves the value unchanged.
fn trim_shortest(s: &[u8], pattern: &[u8]) -> Vec<u8> {
    let mut shortest = 0;
    for end in (1..=s.len()).rev() {
        match pattern_match(pattern, &s[..end]) {
            Err(()) => return s.to_vec(),
            Ok(true) => shortest = end,
            Ok(false) => {}
        }
    }
    s[shortest..].to_vec()
}

/// Removes the longest non-empty prefix matching `pattern`.
fn trim_longest(s: &[u8], pattern: &[u8]) -> Vec<u8> {
    for end in (1..=s.len()).rev() {
        match pattern_match(pattern, &s[..end]) {
            Err(()) => return s.to_vec(),
            Ok(true) => return s[end..].to_vec(),
            Ok(false) => {}
        }
    }
    s.to_vec()
}

/// Shell pattern matching as envsubst's copy of Go's `path.Match`, in which `*` and `?`
/// also match `/`. `Err` is a malformed pattern.
fn pattern_match(mut pattern: &[u8], mut name: &[u8]) -> Result<bool, ()> {
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(true);
        }
        let (t, ok, err) = match_chunk(chunk, name);
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if err {
            return Err(());
        }
        if star {
            for i in 0..name.len() {
                let (t, ok, err) = match_chunk(chunk, &name[i + 1..]);
                if ok {
                    if pattern.is_empty() && !t.is_empty() {
                        continue;
                    }
                    name = t;
                    continue 'pattern;
                }
                if err {
                    return Err(());
                }
            }
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Splits off leading stars and the pattern up to the next star outside brackets.
fn scan_chunk(mut pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    while let Some((b'*', rest)) = pattern.split_first() {
        pattern = rest;
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            // An escape hides the next character from the bracket and star checks.
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &pattern[..i], &pattern[i..])
}

/// Matches `chunk` (no stars) against the start of `s`: (rest of `s`, matched, pattern
/// error).
fn match_chunk<'a>(mut chunk: &[u8], mut s: &'a [u8]) -> (&'a [u8], bool, bool) {
    while let Some(&first) = chunk.first() {
        if s.is_empty() {
            return (s, false, false);
        }
        match first {
            b'[' => {
                let (r, n) = decode(s);
                s = &s[n.max(1)..];
                chunk = &chunk[1..];
                let mut negated = false;
                if chunk.first() == Some(&b'^') {
                    negated = true;
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if chunk.first() == Some(&b']') && ranges > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let Ok((lo, rest)) = get_esc(chunk) else {
                        return (s, false, true);
                    };
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&b'-') {
                        let Ok((h, rest)) = get_esc(&chunk[1..]) else {
                            return (s, false, true);
                        };
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    return (s, false, false);
                }
            }
            b'?' => {
                let (_, n) = decode(s);
                s = &s[n.max(1)..];
                chunk = &chunk[1..];
            }
            _ => {
                let mut literal = first;
                if first == b'\\' {
                    chunk = &chunk[1..];
                    match chunk.first() {
                        Some(&b) => literal = b,
                        None => return (s, false, true),
                    }
                }
                if s[0] != literal {
                    return (s, false, false);
                }
                s = &s[1..];
                chunk = &chunk[1..];
            }
        }
    }
    (s, true, false)
}

/// One possibly escaped character of a bracket expression, and what follows it; a range
/// end or a class that runs off the pattern is an error.
fn get_esc(mut chunk: &[u8]) -> Result<(char, &[u8]), ()> {
    match chunk.first() {
        None | Some(b'-') | Some(b']') => return Err(()),
        Some(b'\\') => {
            chunk = &chunk[1..];
            if chunk.is_empty() {
                return Err(());
            }
        }
        Some(_) => {}
    }
    let (r, n) = decode(chunk);
    if r == char::REPLACEMENT_CHARACTER && n == 1 {
        return Err(());
    }
    let rest = &chunk[n..];
    if rest.is_empty() {
        return Err(());
    }
    Ok((r, rest))
}
