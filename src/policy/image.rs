//! Image references as the engine names them, and a profile's `images` patterns.
//!
//! The engine normalises a reference before it pulls or runs it (distribution's
//! `ParseNormalizedNamed`): `busybox` is `docker.io/library/busybox:latest`, `user/app` is
//! `docker.io/user/app`, a first component with a `.` or `:` (or `localhost`) is a registry.
//! Patterns are normalised the same way (`config::profile::image_pattern`); `*` matches within
//! one path component, `**` across them, and a pattern without a tag or digest covers every tag
//! and digest of its repository. Images named by ID cannot be tied to a name here, so with
//! `images` set they are refused.

use crate::config::profile::normalize_repo;
use crate::config::ImagePattern;

/// A parsed, normalised reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `domain/path`.
    pub repo: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.repo)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Parses `s` as the engine would (`None` where it would refuse it, or where it might be an
/// image ID rather than a name).
pub fn parse(s: &str) -> Option<Reference> {
    // `sha256:<hex>` is an image ID to the engine: whole (`ParseAnyReference`), or as a prefix
    // of any length, which its image stores resolve after finding no image of that name (the
    // name `docker.io/library/sha256` with the hex as tag).
    if ["sha256:", "sha384:", "sha512:"]
        .iter()
        .any(|algo| s.starts_with(algo))
    {
        return None;
    }
    let (name, digest) = match s.split_once('@') {
        Some((n, d)) => (n, Some(parse_digest(d)?)),
        None => (s, None),
    };
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match name[slash..].find(':') {
        Some(i) => (&name[..slash + i], Some(&name[slash + i + 1..])),
        None => (name, None),
    };
    if let Some(t) = tag {
        let ok = !t.is_empty()
            && t.len() <= 128
            && t.bytes().enumerate().all(|(i, b)| {
                b.is_ascii_alphanumeric() || b == b'_' || (i > 0 && (b == b'.' || b == b'-'))
            });
        if !ok {
            return None;
        }
    }
    let mut parts: Vec<&str> = repo.split('/').collect();
    let has_domain = parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost");
    if has_domain {
        let domain = parts.remove(0);
        if domain.is_empty()
            || !domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
        {
            return None;
        }
    }
    if parts.is_empty() || !parts.iter().all(|p| path_component(p)) {
        return None;
    }
    // A bare hex string may be an image ID (or its prefix), which the engine also accepts.
    if !has_domain && parts.len() == 1 && parts[0].bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(Reference {
        repo: normalize_repo(repo),
        tag: tag.map(str::to_string),
        digest,
    })
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`
fn path_component(p: &str) -> bool {
    let b = p.as_bytes();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &p[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `sha256:<64 hex>` and the other algorithms of go-digest, lower case.
fn parse_digest(d: &str) -> Option<String> {
    let (algo, hex) = d.split_once(':')?;
    let len = match algo {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return None,
    };
    (hex.len() == len
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then(|| d.to_string())
}

/// Whether pattern `p` covers reference `r`. A reference without tag or digest (a pull of every
/// tag) is covered only by a pattern that covers every tag.
pub fn covers(p: &ImagePattern, r: &Reference) -> bool {
    if !glob(&p.repo, &r.repo) {
        return false;
    }
    if let Some(d) = &p.digest {
        if r.digest.as_ref() != Some(d) {
            return false;
        }
    }
    match &p.tag {
        None => true,
        // With a digest, the engine pulls and runs the digest whatever the tag says.
        Some(_) if r.digest.is_some() && p.digest.is_none() => false,
        Some(t) => r.tag.as_deref().is_some_and(|rt| glob(t, rt)),
    }
}

/// `*` matches any text without `/`, `**` any text.
pub fn glob(pattern: &str, text: &str) -> bool {
    if let Some(rest) = pattern.strip_prefix("**") {
        return (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .any(|i| glob(rest, &text[i..]));
    }
    if let Some(rest) = pattern.strip_prefix('*') {
        let stop = text.find('/').unwrap_or(text.len());
        return (0..=stop)
            .filter(|&i| text.is_char_boundary(i))
            .any(|i| glob(rest, &text[i..]));
    }
    match (pattern.chars().next(), text.chars().next()) {
        (None, None) => true,
        (Some(a), Some(b)) if a == b => glob(&pattern[a.len_utf8()..], &text[b.len_utf8()..]),
        _ => false,
    }
}

/// The image of a container create (or an image mount): must parse and match a pattern. A
/// reference without tag or digest runs `:latest`.
pub fn check_run(image: &str, patterns: &[ImagePattern]) -> Result<(), String> {
    let Some(mut r) = parse(image) else {
        return Err(format!(
            "the image \"{image}\" is not allowed for this client (images must be given by a valid name, not by ID)"
        ));
    };
    if r.tag.is_none() && r.digest.is_none() {
        r.tag = Some("latest".into());
    }
    if patterns.iter().any(|p| covers(p, &r)) {
        Ok(())
    } else {
        Err(format!("the image \"{r}\" is not allowed for this client"))
    }
}

/// `POST /images/create?fromImage=...&tag=...`, as moby's `PullImage` combines them: a `tag`
/// that parses as a digest pins the digest, any other replaces the tag; neither pulls every tag.
pub fn check_pull(from_image: &str, tag: &str, patterns: &[ImagePattern]) -> Result<(), String> {
    let name = from_image.strip_suffix(':').unwrap_or(from_image);
    let Some(mut r) = parse(name) else {
        return Err(format!(
            "pulling \"{from_image}\" is not allowed for this client (not an image name)"
        ));
    };
    if !tag.is_empty() {
        match parse_digest(tag) {
            Some(d) => {
                r.tag = None;
                r.digest = Some(d);
            }
            None => {
                let Some(t) = parse(&format!("x:{tag}")).and_then(|x| x.tag) else {
                    return Err(format!(
                        "pulling the tag \"{tag}\" is not allowed for this client"
                    ));
                };
                r.tag = Some(t);
            }
        }
    }
    if patterns.iter().any(|p| covers(p, &r)) {
        return Ok(());
    }
    if r.tag.is_none() && r.digest.is_none() {
        return Err(format!(
            "pulling every tag of \"{}\" is not allowed for this client",
            r.repo
        ));
    }
    Err(format!("pulling \"{r}\" is not allowed for this client"))
}

#[cfg(test)]
mod tests;
