//! `[metrics] address` and `[[allow]] name` in the configuration file: valid values load, names
//! default as documented (the `cn`, else `allow-N`), and every mistake is an error that names
//! the file and the key.

use std::path::Path;

use dockgate::config::Config;

const BASE: &str = "[tls]\nca = \"ca.pem\"\ncert = \"c.pem\"\nkey = \"k.pem\"\n";

fn load(text: &str) -> Result<Config, String> {
    Config::from_toml(
        &format!("{BASE}{text}"),
        Path::new("/etc/dockgate/test.toml"),
    )
    .map_err(|e| dockgate::check::error_chain(&e))
}

const ALLOW: &str = "[[allow]]\ncn = \"admin\"\naccess = \"full\"\n";

#[test]
fn metrics_address_loads_and_is_off_by_default() {
    assert_eq!(load(ALLOW).expect("valid").metrics, None);
    let c = load(&format!("[metrics]\naddress = \"127.0.0.1:9323\"\n{ALLOW}")).expect("valid");
    assert_eq!(c.metrics, Some("127.0.0.1:9323".parse().unwrap()));
    let c = load(&format!("[metrics]\naddress = \"[::1]:9323\"\n{ALLOW}")).expect("valid");
    assert_eq!(c.metrics, Some("[::1]:9323".parse().unwrap()));
}

#[test]
fn metrics_mistakes_name_the_key() {
    for (text, says) in [
        ("[metrics]\n", "is required in [metrics]"),
        (
            "[metrics]\naddress = \"localhost:9323\"\n",
            "is not an address",
        ),
        ("[metrics]\naddress = \"127.0.0.1\"\n", "is not an address"),
        (
            "[listen]\naddresses = [\"0.0.0.0:2376\"]\n[metrics]\naddress = \"127.0.0.1:2376\"\n",
            "overlaps listen.addresses",
        ),
        (
            "[listen]\naddresses = [\"127.0.0.1:2376\"]\n[metrics]\naddress = \"0.0.0.0:2376\"\n",
            "overlaps listen.addresses",
        ),
    ] {
        let e = load(&format!("{text}{ALLOW}")).expect_err(text);
        assert!(e.contains("/etc/dockgate/test.toml"), "{e}");
        assert!(e.contains("metrics.address"), "{e}");
        assert!(e.contains(says), "{text}: {e}");
    }
    let e = load(&format!(
        "[metrics]\naddress = \"127.0.0.1:9323\"\nport = 1\n{ALLOW}"
    ))
    .expect_err("unknown key");
    assert!(e.contains("port"), "{e}");
}

#[test]
fn allow_names_default_to_the_cn_else_the_position() {
    let text = format!(
        "[[allow]]\ncn = \"alice\"\naccess = \"full\"\n\
         [[allow]]\ncn = \"alice\"\nou = \"ops\"\naccess = \"read-only\"\n\
         [[allow]]\ncn = \"*\"\nou = \"monitoring\"\naccess = \"read-only\"\n\
         [[allow]]\nname = \"ci\"\nfingerprint = \"{}\"\naccess = \"full\"\n",
        "ab".repeat(32)
    );
    let c = load(&text).expect("valid");
    let names: Vec<&str> = c.allow.iter().map(|a| &*a.name).collect();
    assert_eq!(names, ["alice", "allow-1", "allow-2", "ci"]);
    // A default never takes a name already given, and never `unknown` (clients no entry
    // matches).
    let c = load(
        "[[allow]]\ncn = \"allow-1\"\naccess = \"full\"\n\
         [[allow]]\nou = \"x\"\naccess = \"full\"\n\
         [[allow]]\ncn = \"unknown\"\naccess = \"full\"\n",
    )
    .expect("valid");
    let names: Vec<&str> = c.allow.iter().map(|a| &*a.name).collect();
    assert_eq!(names, ["allow-1", "allow-1-2", "allow-2"]);
}

#[test]
fn allow_name_mistakes_name_the_entry() {
    for (text, key, says) in [
        (
            "[[allow]]\nname = \"x\"\ncn = \"a\"\naccess = \"full\"\n[[allow]]\nname = \"x\"\ncn = \"b\"\naccess = \"full\"\n",
            "allow[1].name",
            "names must be unique",
        ),
        (
            "[[allow]]\ncn = \"a\"\naccess = \"full\"\n[[allow]]\nname = \"a\"\ncn = \"b\"\naccess = \"full\"\n",
            "allow[1].name",
            "names must be unique",
        ),
        (
            "[[allow]]\nname = \"with space\"\ncn = \"a\"\naccess = \"full\"\n",
            "allow[0].name",
            "letters, digits",
        ),
        (
            "[[allow]]\nname = \"\"\ncn = \"a\"\naccess = \"full\"\n",
            "allow[0].name",
            "letters, digits",
        ),
        (
            "[[allow]]\nname = \"unknown\"\ncn = \"a\"\naccess = \"full\"\n",
            "allow[0].name",
            "clients no entry matches",
        ),
        (
            "[[allow]]\ncn = \"a\"\naccess = \"none\"\n[profiles.none]\nallow = [\"read-only\"]\n",
            "profiles.none",
            "clients no [[allow]] entry matches",
        ),
    ] {
        let e = load(text).expect_err(text);
        assert!(e.contains(key), "{text}: {e}");
        assert!(e.contains(says), "{text}: {e}");
    }
}
