//! Proves the body parser reads JSON the way Go's `encoding/json` does (key folding, escapes,
//! invalid UTF-8), and refuses what could be read two ways: keys that fold alike, trailing
//! data, nesting past `MAX_DEPTH`, and anything that is not exactly one valid value. The
//! expected strings of the escape and UTF-8 tables are what Go 1.19's `json.Unmarshal` gives.

use super::*;

fn s(text: &str) -> Value {
    Value::String(text.to_string())
}

fn n(text: &str) -> Value {
    Value::Number(text.to_string())
}

fn obj(members: Vec<(&str, Value)>) -> Value {
    Value::Object(Object {
        members: members
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    })
}

#[test]
fn field_matching_folds_ascii_case_long_s_and_kelvin_only() {
    let table: &[(&str, &str, bool)] = &[
        ("Privileged", "Privileged", true),
        ("Privileged", "privileged", true),
        ("Privileged", "PRIVILEGED", true),
        ("Privileged", "pRiViLeGeD", true),
        ("Binds", "bind\u{17F}", true),
        ("Binds", "BIND\u{17F}", true),
        ("SecurityOpt", "\u{17F}ecurityopt", true),
        ("KernelMemory", "\u{212A}ernelMemory", true),
        ("Links", "lin\u{212A}s", true),
        ("Links", "LIN\u{212A}\u{17F}", true),
        // Not folded by Go: the Turkish dotless and dotted i, other letters, look-alikes.
        ("Privileged", "pr\u{131}vileged", false),
        ("Privileged", "PR\u{130}VILEGED", false),
        ("Privileged", "Privil\u{E9}ged", false),
        ("Privileged", "\u{FF30}rivileged", false),
        ("Binds", "Bind\u{1E61}", false),
        // The long s only stands for `s`, the Kelvin sign only for `k`.
        ("Binds", "\u{17F}inds", false),
        ("Privileged", "\u{212A}rivileged", false),
        // Whole names only.
        ("Privileged", "Privilege", false),
        ("Privileged", "Privilegedx", false),
        ("Privileged", "", false),
        ("CapAdd", "Cap_Add", false),
        ("CapAdd", "CapAdd ", false),
        ("", "", true),
    ];
    for (field, key, want) in table {
        assert_eq!(field_matches(field, key), *want, "{field} vs {key:?}");
    }
}

#[test]
fn fold_gives_one_name_per_field() {
    let table: &[(&str, &str)] = &[
        ("Privileged", "privileged"),
        ("PRIVILEGED", "privileged"),
        ("Bind\u{17F}", "binds"),
        ("\u{212A}ernel", "kernel"),
        ("caf\u{E9}", "caf\u{E9}"),
        ("CAF\u{C9}", "caf\u{C9}"),
        ("pr\u{131}v", "pr\u{131}v"),
        ("", ""),
    ];
    for (key, want) in table {
        assert_eq!(fold(key), *want, "{key:?}");
    }
}

#[test]
fn object_get_finds_the_member_go_would_decode() {
    let Value::Object(o) =
        parse(br#"{"pRIVILEGED":true,"bind\u017f":["/a"],"Labels":{"k":"v"}}"#).unwrap()
    else {
        panic!("not an object");
    };
    let table: &[(&str, Option<Value>)] = &[
        ("Privileged", Some(Value::Bool(true))),
        ("Binds", Some(Value::Array(vec![s("/a")]))),
        ("Labels", Some(obj(vec![("k", s("v"))]))),
        ("Privilege", None),
        ("CapAdd", None),
    ];
    for (field, want) in table {
        assert_eq!(o.get(field), want.as_ref(), "{field}");
    }
    assert_eq!(o.get_exact("pRIVILEGED"), Some(&Value::Bool(true)));
    assert_eq!(o.get_exact("Privileged"), None, "map keys are exact");
    assert_eq!(o.get_exact("Binds"), None);
}

#[test]
fn keys_that_fold_alike_are_refused_at_any_depth() {
    let table: &[(&str, Result<(), JsonError>)] = &[
        (r#"{"a":1,"a":2}"#, Err(JsonError::DuplicateKey("a".into()))),
        (
            r#"{"Privileged":false,"privileged":true}"#,
            Err(JsonError::DuplicateKey("privileged".into())),
        ),
        (
            r#"{"Privileged":true,"PRIVILEGED":null}"#,
            Err(JsonError::DuplicateKey("PRIVILEGED".into())),
        ),
        (
            r#"{"Binds":[],"Bind\u017f":["/:/h"]}"#,
            Err(JsonError::DuplicateKey("Bind\u{17F}".into())),
        ),
        (
            "{\"Binds\":[],\"Bind\u{17F}\":[]}",
            Err(JsonError::DuplicateKey("Bind\u{17F}".into())),
        ),
        (
            r#"{"Links":1,"lin\u212As":2}"#,
            Err(JsonError::DuplicateKey("lin\u{212A}s".into())),
        ),
        (
            r#"{"Privileged":1,"Pr\u0069vileged":2}"#,
            Err(JsonError::DuplicateKey("Privileged".into())),
        ),
        (
            r#"{"HostConfig":{"Privileged":false,"privileged":true}}"#,
            Err(JsonError::DuplicateKey("privileged".into())),
        ),
        (
            r#"{"HostConfig":{"Mounts":[{"Type":"volume","type":"bind"}]}}"#,
            Err(JsonError::DuplicateKey("type".into())),
        ),
        (
            r#"[[[[{"x":{"y":{"Z":1,"z":2}}}]]]]"#,
            Err(JsonError::DuplicateKey("z".into())),
        ),
        (
            r#"{"DriverOpts":{"device":"/srv","device":"/"}}"#,
            Err(JsonError::DuplicateKey("device".into())),
        ),
        // The same key in different objects, and keys Go does not fold together, are fine.
        (r#"[{"a":1},{"a":2}]"#, Ok(())),
        (r#"{"a":{"a":{"a":1}}}"#, Ok(())),
        (r#"{"Privileged":1,"Privilege":2,"Privilegedx":3}"#, Ok(())),
        (r#"{"pr\u0131v":1,"PRIV":2}"#, Ok(())),
        ("{\"caf\u{E9}\":1,\"CAF\u{C9}\":2}", Ok(())),
    ];
    for (body, want) in table {
        assert_eq!(parse(body.as_bytes()).map(|_| ()), *want, "{body}");
    }
}

#[test]
fn escapes_in_keys_and_values_decode_as_go_decodes_them() {
    let table: &[(&str, &str)] = &[
        (r#""plain""#, "plain"),
        (r#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{c}\n\r\t"),
        (r#""\u0050rivileged""#, "Privileged"),
        (r#""\u017f""#, "\u{17F}"),
        (r#""\u212A""#, "\u{212A}"),
        (r#""\u00e9\u00E9""#, "\u{E9}\u{E9}"),
        (r#""\u0000""#, "\u{0}"),
        ("\"\u{7f}\"", "\u{7f}"),
        // Surrogate pairs, and lone or mismatched surrogates (one U+FFFD each).
        (r#""\ud83d\ude00""#, "\u{1F600}"),
        (r#""\uD83D\uDE00""#, "\u{1F600}"),
        (r#""\ud800""#, "\u{FFFD}"),
        (r#""\udc00""#, "\u{FFFD}"),
        (r#""\ud800x""#, "\u{FFFD}x"),
        (r#""\ud800\u0041""#, "\u{FFFD}A"),
        (r#""\ud83d\ud83d\ude00""#, "\u{FFFD}\u{1F600}"),
        (r#""\udc00\ud800""#, "\u{FFFD}\u{FFFD}"),
        (r#""\ud800\n""#, "\u{FFFD}\n"),
    ];
    for (text, want) in table {
        assert_eq!(parse(text.as_bytes()), Ok(s(want)), "{text}");
        let key_body = format!("{{{text}:1}}");
        assert_eq!(
            parse(key_body.as_bytes()),
            Ok(obj(vec![(want, n("1"))])),
            "as a key: {key_body}"
        );
    }
}

#[test]
fn invalid_utf8_becomes_one_replacement_per_bad_byte_as_in_go() {
    let table: &[(&[u8], &str)] = &[
        (b"\"a\xffb\"", "a\u{FFFD}b"),
        (b"\"\xe2\x82A\"", "\u{FFFD}\u{FFFD}A"),
        (b"\"\xed\xa0\x80\"", "\u{FFFD}\u{FFFD}\u{FFFD}"),
        (b"\"\xc0\x80\"", "\u{FFFD}\u{FFFD}"),
        (b"\"\xf4\x90\x80\x80\"", "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"),
        (b"\"\xf0\x9f\x98\"", "\u{FFFD}\u{FFFD}\u{FFFD}"),
        (b"\"\xe2\x82\\u00ac\"", "\u{FFFD}\u{FFFD}\u{AC}"),
        (b"\"\xe2\x82\xac\"", "\u{20AC}"),
        (b"\"\xc3\xa9\x80\"", "\u{E9}\u{FFFD}"),
    ];
    for (bytes, want) in table {
        assert_eq!(parse(bytes), Ok(s(want)), "{bytes:x?}");
        if !bytes.contains(&b'\\') {
            assert_eq!(go_lossy(&bytes[1..bytes.len() - 1]), *want, "{bytes:x?}");
        }
    }
    // A key with a bad byte is one key, which then names no field.
    let Value::Object(o) = parse(b"{\"Privileged\xff\":true}").unwrap() else {
        panic!("not an object");
    };
    assert_eq!(o.members[0].0, "Privileged\u{FFFD}");
    assert_eq!(o.get("Privileged"), None);
}

#[test]
fn only_whitespace_may_follow_the_first_value() {
    let table: &[(&[u8], Result<Value, JsonError>)] = &[
        (b"{}", Ok(obj(vec![]))),
        (b" \t\r\n{} \t\r\n", Ok(obj(vec![]))),
        (b"{}x", Err(JsonError::TrailingData(2))),
        (b"{}{}", Err(JsonError::TrailingData(2))),
        (b"{} {\"Privileged\":true}", Err(JsonError::TrailingData(3))),
        (b"{}\0", Err(JsonError::TrailingData(2))),
        (b"{},", Err(JsonError::TrailingData(2))),
        (b"{}\x0c", Err(JsonError::TrailingData(2))),
        (b"{}\xc2\xa0", Err(JsonError::TrailingData(2))),
        (b"1 2", Err(JsonError::TrailingData(2))),
        (b"01", Err(JsonError::TrailingData(1))),
        (b"0x10", Err(JsonError::TrailingData(1))),
        (b"\"a\"\"b\"", Err(JsonError::TrailingData(3))),
        (b"null}", Err(JsonError::TrailingData(4))),
    ];
    for (body, want) in table {
        assert_eq!(parse(body), *want, "{:?}", String::from_utf8_lossy(body));
    }
}

#[test]
fn nesting_is_limited_to_max_depth() {
    let nested =
        |levels: usize, inner: &str| format!("{}{inner}{}", "[".repeat(levels), "]".repeat(levels));
    let objects = |levels: usize| format!("{}1{}", r#"{"a":"#.repeat(levels), "}".repeat(levels));
    let table: &[(String, bool)] = &[
        (nested(1, ""), true),
        (nested(MAX_DEPTH, ""), true),
        (nested(MAX_DEPTH, "0"), true),
        (nested(MAX_DEPTH, "\"x\""), true),
        (nested(MAX_DEPTH - 1, "{}"), true),
        (nested(MAX_DEPTH + 1, ""), false),
        (nested(MAX_DEPTH, "[]"), false),
        (nested(MAX_DEPTH, "{}"), false),
        (nested(100_000, ""), false),
        (objects(MAX_DEPTH), true),
        (objects(MAX_DEPTH + 1), false),
    ];
    for (body, ok) in table {
        let got = parse(body.as_bytes());
        if *ok {
            assert!(got.is_ok(), "{} bytes: {got:?}", body.len());
        } else {
            assert_eq!(got, Err(JsonError::TooDeep), "{} bytes", body.len());
        }
    }
}

#[test]
fn values_numbers_and_literals() {
    let table: &[(&str, Value)] = &[
        ("true", Value::Bool(true)),
        ("false", Value::Bool(false)),
        ("null", Value::Null),
        ("0", n("0")),
        ("-0", n("-0")),
        ("12", n("12")),
        ("-1.5e+10", n("-1.5e+10")),
        ("1E-3", n("1E-3")),
        ("0.25", n("0.25")),
        ("1e5", n("1e5")),
        ("[]", Value::Array(vec![])),
        (
            "[1, \"a\" ,null,true]",
            Value::Array(vec![n("1"), s("a"), Value::Null, Value::Bool(true)]),
        ),
        (
            r#"{ "A" : [ {} ] , "b":{"c":false}}"#,
            obj(vec![
                ("A", Value::Array(vec![obj(vec![])])),
                ("b", obj(vec![("c", Value::Bool(false))])),
            ]),
        ),
    ];
    for (text, want) in table {
        assert_eq!(parse(text.as_bytes()).as_ref(), Ok(want), "{text}");
    }
    let kinds: &[(&str, &str)] = &[
        ("null", "null"),
        ("true", "a boolean"),
        ("1", "a number"),
        ("\"\"", "a string"),
        ("[]", "an array"),
        ("{}", "an object"),
    ];
    for (text, kind) in kinds {
        assert_eq!(parse(text.as_bytes()).unwrap().kind(), *kind, "{text}");
    }
}

#[test]
fn invalid_json_is_a_syntax_error_at_the_right_byte() {
    let table: &[(&[u8], usize)] = &[
        (b"tru", 0),
        (b"True", 0),
        (b"nul", 0),
        (b"NaN", 0),
        (b"Infinity", 0),
        (b"-", 1),
        (b"+1", 0),
        (b".5", 0),
        (b"1.", 2),
        (b"1.e5", 2),
        (b"1e", 2),
        (b"1e+", 3),
        (b"-a", 1),
        (b"{", 1),
        (b"{\"a\"", 4),
        (b"{\"a\":", 5),
        (b"{\"a\":1", 6),
        (b"{\"a\":1,}", 7),
        (b"{\"a\" 1}", 5),
        (b"{a:1}", 1),
        (b"{'a':1}", 1),
        (b"{,}", 1),
        (b"[1,]", 3),
        (b"[1 2]", 3),
        (b"[", 1),
        (b"]", 0),
        (b"\"abc", 4),
        (b"\"a\tb\"", 2),
        (b"\"a\nb\"", 2),
        (b"\"\\x\"", 2),
        (b"\"\\u12\"", 3),
        (b"\"\\u12g4\"", 3),
        (b"\"\\ud800\\u12g4\"", 9),
        (b"\"\\", 2),
        (b"\xef\xbb\xbf{}", 0),
        (b"\x0c{}", 0),
        (b"/* */{}", 0),
    ];
    for (body, at) in table {
        assert_eq!(
            parse(body),
            Err(JsonError::Syntax(*at)),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn empty_input_is_its_own_error() {
    for body in [&b""[..], b" ", b"\r\n\t "] {
        assert_eq!(parse(body), Err(JsonError::Empty), "{body:?}");
    }
}
