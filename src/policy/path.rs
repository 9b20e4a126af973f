//! Request paths as the Docker Engine will route them.
//!
//! The engine's router (gorilla/mux) matches on the percent-decoded path, so policy must see the
//! decoded path too, or `/containers/x/expor%74` would slip past a rule about `export`. Paths that
//! a router could read two ways are refused outright: `.` and `..` segments, empty segments
//! (`//`, a trailing `/`), and percent-encoded `/`, `.` or `%`. The engine's version prefix
//! (`/v1.41/...`, matched as `/v{version:[0-9.]+}/` in moby's router) is handled by
//! `routes::dispatch`, so versioned and unversioned paths are judged alike.

/// Why a path is refused before any policy decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path must start with `/`")]
    NotAbsolute,
    #[error("the path has an empty segment (`//` or a trailing `/`)")]
    EmptySegment,
    #[error("the path has a `.` or `..` segment")]
    DotSegment,
    #[error("the path percent-encodes `/`, `.` or `%`")]
    EncodedDelimiter,
    #[error("the path has a malformed percent-encoding")]
    BadEncoding,
    #[error("the path decodes to a control character or to bytes that are not UTF-8")]
    BadCharacter,
}

/// Checks that `raw` (the request target's path, without the query) is canonical and returns it
/// percent-decoded.
pub fn canonical(raw: &str) -> Result<String, PathError> {
    if !raw.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    if raw == "/" {
        return Ok(raw.to_string());
    }
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let b = match bytes.get(i + 1..i + 3) {
                Some([hi, lo]) => hex_value(*hi)
                    .zip(hex_value(*lo))
                    .map(|(h, l)| h << 4 | l)
                    .ok_or(PathError::BadEncoding)?,
                _ => return Err(PathError::BadEncoding),
            };
            if matches!(b, b'/' | b'.' | b'%') {
                return Err(PathError::EncodedDelimiter);
            }
            decoded.push(b);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    if decoded.iter().any(|b| b.is_ascii_control()) {
        return Err(PathError::BadCharacter);
    }
    let decoded = String::from_utf8(decoded).map_err(|_| PathError::BadCharacter)?;
    for segment in decoded[1..].split('/') {
        match segment {
            "" => return Err(PathError::EmptySegment),
            "." | ".." => return Err(PathError::DotSegment),
            _ => {}
        }
    }
    Ok(decoded)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
