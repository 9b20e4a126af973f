//! Proves image references are parsed and normalised the way the engine names images
//! (distribution's `ParseNormalizedNamed`; IDs and what the engine would refuse are `None`),
//! that `*` globs within one path component and `**` across them, and that `images` patterns
//! decide container creates (`check_run`) and pulls (`check_pull`) with the engine's tag rules.
//! The reference cases were checked against `github.com/docker/distribution/reference`.

use super::*;
use crate::config::profile::image_pattern;

const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn digest() -> String {
    format!("sha256:{HEX}")
}

/// Expected `(repo, tag, digest)`; for references, whether the digest is [`digest`].
type Parts<'a, D> = (&'a str, Option<&'a str>, D);

/// Patterns, `fromImage`, `tag`, and what `check_pull` answers.
type PullCase<'a> = (Vec<&'a str>, String, String, Result<(), String>);

fn patterns(texts: &[&str]) -> Vec<ImagePattern> {
    texts
        .iter()
        .map(|t| image_pattern(t).unwrap_or_else(|e| panic!("{t}: {e}")))
        .collect()
}

#[test]
fn references_are_normalised_as_the_engine_names_them() {
    let d = digest();
    let long = "t".repeat(128);
    let table: Vec<(String, Option<Parts<bool>>)> = vec![
        (
            "busybox".into(),
            Some(("docker.io/library/busybox", None, false)),
        ),
        (
            "busybox:1.36".into(),
            Some(("docker.io/library/busybox", Some("1.36"), false)),
        ),
        (
            "docker.io/library/busybox:latest".into(),
            Some(("docker.io/library/busybox", Some("latest"), false)),
        ),
        (
            "docker.io/busybox".into(),
            Some(("docker.io/library/busybox", None, false)),
        ),
        (
            "index.docker.io/busybox".into(),
            Some(("docker.io/library/busybox", None, false)),
        ),
        ("user/app".into(), Some(("docker.io/user/app", None, false))),
        ("a/b/c/d".into(), Some(("docker.io/a/b/c/d", None, false))),
        (
            "registry:5000/a/b:tag".into(),
            Some(("registry:5000/a/b", Some("tag"), false)),
        ),
        (
            "registry.example.com/team/app".into(),
            Some(("registry.example.com/team/app", None, false)),
        ),
        ("localhost/app".into(), Some(("localhost/app", None, false))),
        (
            "localhost:5000/app:v1".into(),
            Some(("localhost:5000/app", Some("v1"), false)),
        ),
        (
            format!("busybox@{d}"),
            Some(("docker.io/library/busybox", None, true)),
        ),
        (
            format!("busybox:1.36@{d}"),
            Some(("docker.io/library/busybox", Some("1.36"), true)),
        ),
        (
            format!("registry:5000/a@{d}"),
            Some(("registry:5000/a", None, true)),
        ),
        (
            "a__b-c--d.e_f:_x".into(),
            Some(("docker.io/library/a__b-c--d.e_f", Some("_x"), false)),
        ),
        (
            format!("busybox:{long}"),
            Some(("docker.io/library/busybox", Some(long.as_str()), false)),
        ),
        // `docker.io/sha256:<hex>` is a name, `sha256:<hex>` alone is not.
        (
            format!("docker.io/{d}"),
            Some(("docker.io/library/sha256", Some(HEX), false)),
        ),
        // Image IDs, or what may be one.
        (d.clone(), None),
        (format!("sha512:{}", "b".repeat(128)), None),
        (HEX.into(), None),
        ("abcdef".into(), None),
        ("abcdef:latest".into(), None),
        // What the engine refuses.
        ("".into(), None),
        ("BusyBox".into(), None),
        ("Busybox/x".into(), None),
        ("busybox:".into(), None),
        ("busybox:-x".into(), None),
        ("busybox:.x".into(), None),
        (format!("busybox:{}", "t".repeat(129)), None),
        ("busybox@sha256:abc".into(), None),
        (format!("busybox@md5:{HEX}"), None),
        (format!("busybox@sha256:{}", HEX.to_uppercase()), None),
        ("a___b".into(), None),
        ("a..b".into(), None),
        ("a._b".into(), None),
        ("-a".into(), None),
        ("a-".into(), None),
        ("a//b".into(), None),
        ("/a".into(), None),
        ("a/".into(), None),
        ("[::1]:5000/a".into(), None),
        ("bad_domain!.com/a".into(), None),
        ("busy box".into(), None),
    ];
    for (text, want) in &table {
        let got = parse(text).map(|r| (r.repo, r.tag, r.digest));
        let want = want.map(|(repo, tag, has_digest)| {
            (
                repo.to_string(),
                tag.map(str::to_string),
                has_digest.then(digest),
            )
        });
        assert_eq!(got, want, "{text:?}");
    }
}

#[test]
fn references_display_in_full() {
    let d = digest();
    let table: &[(String, String)] = &[
        ("busybox".into(), "docker.io/library/busybox".into()),
        ("busybox:1".into(), "docker.io/library/busybox:1".into()),
        (
            format!("registry:5000/a:1@{d}"),
            format!("registry:5000/a:1@{d}"),
        ),
    ];
    for (text, want) in table {
        assert_eq!(parse(text).unwrap().to_string(), *want, "{text}");
    }
}

#[test]
fn globs_keep_star_within_a_component_and_double_star_across() {
    let table: &[(&str, &str, bool)] = &[
        (
            "docker.io/library/busybox",
            "docker.io/library/busybox",
            true,
        ),
        (
            "docker.io/library/busybox",
            "docker.io/library/busybox2",
            false,
        ),
        (
            "docker.io/library/busybox",
            "docker.io/library/busybo",
            false,
        ),
        ("docker.io/library/*", "docker.io/library/busybox", true),
        ("docker.io/library/*", "docker.io/library/a/b", false),
        ("docker.io/*/app", "docker.io/user/app", true),
        ("docker.io/*/app", "docker.io/a/b/app", false),
        ("docker.io/*/app", "docker.io/user/app2", false),
        (
            "registry.example.com/**",
            "registry.example.com/team/app",
            true,
        ),
        ("registry.example.com/**", "registry.example.com/app", true),
        (
            "registry.example.com/**",
            "registry.example.com.evil/app",
            false,
        ),
        (
            "registry.example.com/**",
            "evil/registry.example.com/app",
            false,
        ),
        ("**/app", "docker.io/x/app", true),
        ("**/app", "docker.io/x/y/app", true),
        ("**/app", "docker.io/x/app2", false),
        ("**", "anything/at/all", true),
        ("**", "", true),
        ("*", "", true),
        ("*", "a/b", false),
        ("a*c", "abc", true),
        ("a*c", "ac", true),
        ("a*c", "a/c", false),
        ("a*c*e", "abcde", true),
        ("a*c*e", "abcd", false),
        ("3.*", "3.19", true),
        ("3.*", "3", false),
        ("*-alpine", "1.25-alpine", true),
        ("\u{E9}*", "\u{E9}t\u{E9}", true),
        ("", "", true),
        ("", "a", false),
        ("a", "", false),
    ];
    for (pattern, text, want) in table {
        assert_eq!(glob(pattern, text), *want, "{pattern:?} vs {text:?}");
    }
}

#[test]
fn check_run_requires_a_named_image_that_a_pattern_covers() {
    let d = digest();
    let pinned = format!("busybox@{d}");
    let table: Vec<(Vec<&str>, String, Result<(), String>)> = vec![
        (vec!["busybox"], "busybox".into(), Ok(())),
        (vec!["busybox"], "busybox:1.36".into(), Ok(())),
        (vec!["busybox"], "docker.io/library/busybox".into(), Ok(())),
        (vec!["busybox"], format!("busybox@{d}"), Ok(())),
        (vec!["busybox:latest"], "busybox".into(), Ok(())),
        (vec!["busybox:1.*"], "busybox:1.36".into(), Ok(())),
        (vec!["alpine", "busybox"], "busybox".into(), Ok(())),
        (vec![pinned.as_str()], format!("busybox:1@{d}"), Ok(())),
        (vec!["registry:5000/**"], "registry:5000/a/b:tag".into(), Ok(())),
        (vec!["localhost/*"], "localhost/app".into(), Ok(())),
        (vec!["*"], "alpine".into(), Ok(())),
        (vec!["**"], "registry:5000/a/b".into(), Ok(())),
        (
            vec!["busybox:1.36"],
            "busybox".into(),
            Err("the image \"docker.io/library/busybox:latest\" is not allowed for this client".into()),
        ),
        (
            vec!["busybox:latest"],
            format!("busybox@{d}"),
            Err(format!(
                "the image \"docker.io/library/busybox@{d}\" is not allowed for this client"
            )),
        ),
        (
            vec![pinned.as_str()],
            "busybox:latest".into(),
            Err("the image \"docker.io/library/busybox:latest\" is not allowed for this client".into()),
        ),
        (
            vec!["busybox"],
            "alpine".into(),
            Err("the image \"docker.io/library/alpine:latest\" is not allowed for this client".into()),
        ),
        (
            vec!["busybox"],
            "evil.example.com/busybox".into(),
            Err("the image \"evil.example.com/busybox:latest\" is not allowed for this client".into()),
        ),
        (
            vec!["*"],
            "user/app".into(),
            Err("the image \"docker.io/user/app:latest\" is not allowed for this client".into()),
        ),
        (
            vec!["**"],
            d.clone(),
            Err(format!("the image \"{d}\" is not allowed for this client (images must be given by a valid name, not by ID)")),
        ),
        (
            vec!["*", "**", "docker.io/**"],
            "sha256:abcd".into(),
            Err("the image \"sha256:abcd\" is not allowed for this client (images must be given by a valid name, not by ID)".into()),
        ),
        (
            vec!["**"],
            "sha512:0123".into(),
            Err("the image \"sha512:0123\" is not allowed for this client (images must be given by a valid name, not by ID)".into()),
        ),
        (
            vec!["busybox:1.36", "busybox:*"],
            format!("busybox:1.36@{d}"),
            Err(format!(
                "the image \"docker.io/library/busybox:1.36@{d}\" is not allowed for this client"
            )),
        ),
        (
            vec!["**"],
            "abc123".into(),
            Err("the image \"abc123\" is not allowed for this client (images must be given by a valid name, not by ID)".into()),
        ),
        (
            vec!["**"],
            "BusyBox".into(),
            Err("the image \"BusyBox\" is not allowed for this client (images must be given by a valid name, not by ID)".into()),
        ),
        (
            vec!["**"],
            "".into(),
            Err("the image \"\" is not allowed for this client (images must be given by a valid name, not by ID)".into()),
        ),
        (
            vec![],
            "busybox".into(),
            Err("the image \"docker.io/library/busybox:latest\" is not allowed for this client".into()),
        ),
    ];
    for (pats, image, want) in &table {
        assert_eq!(
            check_run(image, &patterns(pats)),
            *want,
            "{pats:?} vs {image}"
        );
    }
}

#[test]
fn check_pull_combines_from_image_and_tag_as_the_engine_does() {
    let d = digest();
    let pinned = format!("busybox@{d}");
    let table: Vec<PullCase> = vec![
        (vec!["busybox"], "busybox".into(), "1.36".into(), Ok(())),
        (vec!["busybox"], "busybox".into(), "".into(), Ok(())),
        (vec!["busybox"], "busybox:".into(), "".into(), Ok(())),
        (
            vec!["busybox:latest"],
            "busybox".into(),
            "latest".into(),
            Ok(()),
        ),
        (
            vec!["busybox:1.*"],
            "busybox:1.36".into(),
            "".into(),
            Ok(()),
        ),
        (vec!["busybox:1.*"], "busybox".into(), "1.36".into(), Ok(())),
        (vec![pinned.as_str()], "busybox".into(), d.clone(), Ok(())),
        (vec!["busybox"], format!("busybox@{d}"), "".into(), Ok(())),
        (
            vec!["busybox:1"],
            "docker.io/library/busybox".into(),
            "1".into(),
            Ok(()),
        ),
        (
            vec!["busybox"],
            "index.docker.io/busybox".into(),
            "".into(),
            Ok(()),
        ),
        (
            vec!["registry:5000/**"],
            "registry:5000/a/b".into(),
            "tag".into(),
            Ok(()),
        ),
        (vec!["**"], "busybox".into(), "".into(), Ok(())),
        // Without a tag or digest the engine pulls every tag: only a repository-wide pattern.
        (
            vec!["busybox:latest"],
            "busybox".into(),
            "".into(),
            Err(
                "pulling every tag of \"docker.io/library/busybox\" is not allowed for this client"
                    .into(),
            ),
        ),
        (
            vec!["busybox:*"],
            "busybox".into(),
            "".into(),
            Err(
                "pulling every tag of \"docker.io/library/busybox\" is not allowed for this client"
                    .into(),
            ),
        ),
        (
            vec!["busybox:latest"],
            "busybox".into(),
            "1.36".into(),
            Err("pulling \"docker.io/library/busybox:1.36\" is not allowed for this client".into()),
        ),
        // The tag parameter replaces the tag of fromImage.
        (
            vec!["busybox:1.*"],
            "busybox:1.36".into(),
            "latest".into(),
            Err(
                "pulling \"docker.io/library/busybox:latest\" is not allowed for this client"
                    .into(),
            ),
        ),
        // A digest in `tag` pins it and drops the tag.
        (
            vec!["busybox:latest"],
            "busybox:latest".into(),
            d.clone(),
            Err(format!(
                "pulling \"docker.io/library/busybox@{d}\" is not allowed for this client"
            )),
        ),
        (
            vec!["busybox"],
            "evil.example.com/busybox".into(),
            "latest".into(),
            Err(
                "pulling \"evil.example.com/busybox:latest\" is not allowed for this client".into(),
            ),
        ),
        (
            vec!["busybox"],
            "alpine".into(),
            "".into(),
            Err(
                "pulling every tag of \"docker.io/library/alpine\" is not allowed for this client"
                    .into(),
            ),
        ),
        // A digest wins over a tag: a tag pattern does not cover it.
        (
            vec!["busybox:1.36"],
            format!("busybox:1.36@{d}"),
            "".into(),
            Err(format!(
                "pulling \"docker.io/library/busybox:1.36@{d}\" is not allowed for this client"
            )),
        ),
        (
            vec!["busybox:1.36"],
            format!("busybox@{d}"),
            "1.36".into(),
            Err(format!(
                "pulling \"docker.io/library/busybox:1.36@{d}\" is not allowed for this client"
            )),
        ),
        (
            vec!["**"],
            "sha256:abcd".into(),
            "".into(),
            Err(
                "pulling \"sha256:abcd\" is not allowed for this client (not an image name)".into(),
            ),
        ),
        (
            vec!["**"],
            "busybox".into(),
            "bad tag".into(),
            Err("pulling the tag \"bad tag\" is not allowed for this client".into()),
        ),
        (
            vec!["**"],
            "busybox".into(),
            "-x".into(),
            Err("pulling the tag \"-x\" is not allowed for this client".into()),
        ),
        (
            vec!["**"],
            "".into(),
            "".into(),
            Err("pulling \"\" is not allowed for this client (not an image name)".into()),
        ),
        (
            vec!["**"],
            "BusyBox".into(),
            "latest".into(),
            Err("pulling \"BusyBox\" is not allowed for this client (not an image name)".into()),
        ),
        (
            vec!["**"],
            d.clone(),
            "".into(),
            Err(format!(
                "pulling \"{d}\" is not allowed for this client (not an image name)"
            )),
        ),
    ];
    for (pats, from, tag, want) in &table {
        assert_eq!(
            check_pull(from, tag, &patterns(pats)),
            *want,
            "{pats:?} vs fromImage={from} tag={tag}"
        );
    }
}

#[test]
fn patterns_are_normalised_like_references() {
    let d = digest();
    let table: Vec<(String, Parts<Option<String>>)> = vec![
        ("busybox".into(), ("docker.io/library/busybox", None, None)),
        (
            "alpine:3.*".into(),
            ("docker.io/library/alpine", Some("3.*"), None),
        ),
        ("user/*".into(), ("docker.io/user/*", None, None)),
        ("*".into(), ("docker.io/library/*", None, None)),
        ("**".into(), ("**", None, None)),
        ("**/app".into(), ("**/app", None, None)),
        (
            "registry.example.com/**".into(),
            ("registry.example.com/**", None, None),
        ),
        (
            "index.docker.io/nginx".into(),
            ("docker.io/library/nginx", None, None),
        ),
        (
            format!("busybox@{}", d.to_uppercase().replace("SHA256", "sha256")),
            ("docker.io/library/busybox", None, Some(d.clone())),
        ),
    ];
    for (text, (repo, tag, dg)) in &table {
        let p = image_pattern(text).unwrap();
        assert_eq!(
            (p.repo.as_str(), p.tag.as_deref(), p.digest.clone()),
            (*repo, *tag, dg.clone()),
            "{text}"
        );
    }
    for bad in [
        "",
        "Busybox",
        "a b",
        "busybox:",
        "a//b",
        "busybox@sha256:",
        "busybox@x",
    ] {
        assert!(image_pattern(bad).is_err(), "{bad:?} was accepted");
    }
}
