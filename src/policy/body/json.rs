//! JSON read the way the engine reads it: Go's `encoding/json` decoding into moby's structs.
//!
//! What Go does that a naive reader gets wrong, and how this reader closes each gap:
//! - struct fields match object keys case-insensitively, and also the Kelvin sign `K` for `k`
//!   and the long s `ſ` for `s` (Go 1.19 `fold.go` `equalFoldRight`; Go 1.21+ `foldName` gives the
//!   same answers for ASCII field names, which all of moby's are): [`fold`] and
//!   [`Object::get`] match exactly those;
//! - of two keys naming one field the last wins, and a later `null` does not undo an earlier
//!   value: an object with two keys that fold alike is refused here ([`JsonError::DuplicateKey`]),
//!   so no reading order can differ;
//! - `\u` escapes in keys are ordinary characters; invalid UTF-8 and lone surrogates become
//!   U+FFFD, as Go's `unquote` does;
//! - `json.Decoder.Decode` reads the first value and ignores what follows: anything but
//!   whitespace after the value is refused ([`JsonError::TrailingData`]);
//! - Go's grammar is RFC 8259's, with a nesting limit of 10000: this reader refuses anything
//!   nested deeper than [`MAX_DEPTH`], which only refuses more.

use std::collections::HashSet;

/// Deepest nesting accepted (Go accepts 10000; no Engine API body comes near this).
pub const MAX_DEPTH: usize = 256;

/// A JSON value. Numbers keep their text: policy never computes with them.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Value>),
    Object(Object),
}

impl Value {
    /// What Go would call this value's JSON type, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

/// An object's members in body order; no two keys fold alike.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object {
    pub members: Vec<(String, Value)>,
}

impl Object {
    /// The member a Go struct field named `field` (ASCII) would be decoded from.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.members
            .iter()
            .find(|(k, _)| field_matches(field, k))
            .map(|(_, v)| v)
    }

    /// The member whose key is exactly `key` (Go map keys are compared byte for byte).
    pub fn get_exact(&self, key: &str) -> Option<&Value> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Whether Go decodes the key `key` into the struct field whose JSON name is `field`.
pub fn field_matches(field: &str, key: &str) -> bool {
    let mut k = key.chars();
    for f in field.chars() {
        let Some(c) = k.next() else { return false };
        let ok = match c {
            '\u{212A}' => f.eq_ignore_ascii_case(&'k'),
            '\u{17F}' => f.eq_ignore_ascii_case(&'s'),
            c => c.is_ascii() && f.eq_ignore_ascii_case(&c),
        };
        if !ok {
            return false;
        }
    }
    k.next().is_none()
}

/// A key as Go's field matching sees it: ASCII lower case, `K` → `k`, `ſ` → `s`. Two keys with
/// the same fold name the same field.
pub fn fold(key: &str) -> String {
    key.chars()
        .map(|c| match c {
            '\u{212A}' => 'k',
            '\u{17F}' => 's',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Why a body is not one JSON value the policy can read safely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    #[error("the body is empty")]
    Empty,
    #[error("the body is not valid JSON (at byte {0})")]
    Syntax(usize),
    #[error("the body nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("the body has data after its JSON value (at byte {0})")]
    TrailingData(usize),
    #[error("an object has the key `{0}` twice (keys match case-insensitively)")]
    DuplicateKey(String),
}

/// Parses `bytes` as exactly one JSON value, optionally surrounded by whitespace.
pub fn parse(bytes: &[u8]) -> Result<Value, JsonError> {
    let mut p = Parser { b: bytes, i: 0 };
    p.ws();
    if p.i == bytes.len() {
        return Err(JsonError::Empty);
    }
    let v = p.value(0)?;
    p.ws();
    if p.i != bytes.len() {
        return Err(JsonError::TrailingData(p.i));
    }
    Ok(v)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn err(&self) -> JsonError {
        JsonError::Syntax(self.i)
    }

    fn eat(&mut self, lit: &[u8]) -> Result<(), JsonError> {
        if self.b[self.i..].starts_with(lit) {
            self.i += lit.len();
            Ok(())
        } else {
            Err(self.err())
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        match self.b.get(self.i) {
            // `depth` counts the arrays and objects around this value, as Go's limit does.
            Some(b'{' | b'[') if depth >= MAX_DEPTH => Err(JsonError::TooDeep),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.eat(b"true").map(|_| Value::Bool(true)),
            Some(b'f') => self.eat(b"false").map(|_| Value::Bool(false)),
            Some(b'n') => self.eat(b"null").map(|_| Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err()),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.i += 1;
        let mut obj = Object::default();
        let mut seen = HashSet::new();
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Value::Object(obj));
        }
        loop {
            self.ws();
            if self.b.get(self.i) != Some(&b'"') {
                return Err(self.err());
            }
            let key = self.string()?;
            if !seen.insert(fold(&key)) {
                return Err(JsonError::DuplicateKey(key));
            }
            self.ws();
            if self.b.get(self.i) != Some(&b':') {
                return Err(self.err());
            }
            self.i += 1;
            self.ws();
            let v = self.value(depth + 1)?;
            obj.members.push((key, v));
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Object(obj));
                }
                _ => return Err(self.err()),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth + 1)?);
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.err()),
            }
        }
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.err()),
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                return Err(self.err());
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.b.get(self.i) {
                self.i += 1;
            }
            if !matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                return Err(self.err());
            }
            self.digits();
        }
        let text = String::from_utf8_lossy(&self.b[start..self.i]).into_owned();
        Ok(Value::Number(text))
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let h = self.b.get(self.i..self.i + 4).ok_or(self.err())?;
        let s = std::str::from_utf8(h).map_err(|_| self.err())?;
        if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.err());
        }
        self.i += 4;
        u32::from_str_radix(s, 16).map_err(|_| self.err())
    }

    /// A string, decoded as Go's `unquote` does (invalid UTF-8 and lone surrogates → U+FFFD).
    fn string(&mut self) -> Result<String, JsonError> {
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return Err(self.err());
            };
            match c {
                b'"' => {
                    self.i += 1;
                    break;
                }
                0..=0x1f => return Err(self.err()),
                b'\\' => {
                    self.i += 1;
                    let Some(&e) = self.b.get(self.i) else {
                        return Err(self.err());
                    };
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(JsonError::Syntax(self.i - 1)),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                _ => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        Ok(go_lossy(&out))
    }

    /// After `\u`: one escape, or a surrogate pair of two (Go's `unquote`).
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let first = self.hex4()?;
        if !(0xD800..0xE000).contains(&first) {
            return Ok(char::from_u32(first).unwrap_or('\u{FFFD}'));
        }
        if first < 0xDC00 && self.b[self.i..].starts_with(b"\\u") {
            let save = self.i;
            self.i += 2;
            let second = self.hex4()?;
            if (0xDC00..0xE000).contains(&second) {
                let c = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                return Ok(char::from_u32(c).unwrap_or('\u{FFFD}'));
            }
            // Go writes U+FFFD for the lone surrogate and reads the next escape on its own.
            self.i = save;
        }
        Ok('\u{FFFD}')
    }
}

/// `bytes` as UTF-8, each byte that does not start a valid sequence replaced by U+FFFD (Go's
/// `unquote`; Rust's `from_utf8_lossy` would merge some invalid runs into one U+FFFD).
fn go_lossy(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                out.push('\u{FFFD}');
                rest = &bad[1..];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
