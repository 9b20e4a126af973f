//! Query strings read the way the engine reads them: Go's `url.ParseQuery` behind
//! `r.ParseForm()`, and moby's `httputils.BoolValue` for its boolean parameters.
//!
//! Go splits on `&` only and refuses a `;` (since Go 1.17), decodes `+` as a space and `%XX`
//! escapes, refuses a malformed escape, and `r.Form.Get` returns a key's first value. Any piece
//! Go would refuse makes the engine answer 400 (`ParseForm` fails), so policy refuses the whole
//! query rather than guess which value the engine would have used.

/// A parsed query: keys and values decoded, in order.
#[derive(Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

/// Why a query cannot be read the way the engine would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("has a `;`, which the engine refuses")]
    Semicolon,
    #[error("has a malformed percent-escape")]
    BadEscape,
}

impl Query {
    /// The first value of `key`, as Go's `Form.Get` returns it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// moby's `BoolValue`: false for a missing key and for `""`, `0`, `no`, `false`, `none`
    /// (trimmed, any case), true for anything else.
    pub fn bool(&self, key: &str) -> bool {
        let v = self.get(key).unwrap_or("").trim().to_lowercase();
        !matches!(v.as_str(), "" | "0" | "no" | "false" | "none")
    }
}

pub fn parse(query: &str) -> Result<Query, QueryError> {
    let mut q = Query::default();
    for piece in query.split('&') {
        if piece.contains(';') {
            return Err(QueryError::Semicolon);
        }
        if piece.is_empty() {
            continue;
        }
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        q.pairs.push((unescape(k)?, unescape(v)?));
    }
    Ok(q)
}

/// Go's `QueryUnescape`; bytes that are not UTF-8 become U+FFFD (no policy value needs them).
fn unescape(s: &str) -> Result<String, QueryError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b.get(i + 1..i + 3).ok_or(QueryError::BadEscape)?;
                let h = std::str::from_utf8(hex).map_err(|_| QueryError::BadEscape)?;
                if !h.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return Err(QueryError::BadEscape);
                }
                out.push(u8::from_str_radix(h, 16).map_err(|_| QueryError::BadEscape)?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_as_go_reads_them() {
        let q = parse("fromImage=busybox&tag=1.36&fromImage=evil&x=a+b%21").unwrap();
        assert_eq!(q.get("fromImage"), Some("busybox"), "the first value wins");
        assert_eq!(q.get("tag"), Some("1.36"));
        assert_eq!(q.get("x"), Some("a b!"));
        assert_eq!(q.get("nope"), None);
        assert_eq!(parse("from%49mage=x").unwrap().get("fromImage"), Some("x"));
        assert_eq!(parse("a=1;fromImage=x").unwrap_err(), QueryError::Semicolon);
        assert_eq!(parse("a=%zz").unwrap_err(), QueryError::BadEscape);
        assert_eq!(parse("a=%4").unwrap_err(), QueryError::BadEscape);
        assert!(parse("").unwrap().get("a").is_none());
    }

    #[test]
    fn booleans_as_moby_reads_them() {
        let q = parse("a=1&b=true&c=0&d=no&e=FALSE&f=none&g=&h=%20No%20&i=yes&j=2").unwrap();
        for (k, want) in [
            ("a", true),
            ("b", true),
            ("c", false),
            ("d", false),
            ("e", false),
            ("f", false),
            ("g", false),
            ("h", false),
            ("i", true),
            ("j", true),
            ("missing", false),
        ] {
            assert_eq!(q.bool(k), want, "{k}");
        }
    }
}
