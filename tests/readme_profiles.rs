//! The README shows the ready-made profiles exactly as `config/profiles.toml` (the file the
//! end-to-end tests load) has them, and its policy example loads.

use std::path::Path;

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).expect(name)
}

#[test]
fn readme_shows_every_ready_made_profile_verbatim() {
    let readme = read("README.md");
    let profiles = read("config/profiles.toml");
    let blocks: Vec<&str> = profiles
        .split("\n\n")
        .map(str::trim)
        .filter(|b| b.contains("[profiles."))
        .collect();
    assert!(blocks.len() >= 7, "{} profiles", blocks.len());
    for b in blocks {
        assert!(
            readme.contains(b),
            "README lacks this block of config/profiles.toml:\n{b}"
        );
    }
    let base =
        "[tls]\nca = \"a\"\ncert = \"b\"\nkey = \"c\"\n[[allow]]\ncn = \"x\"\naccess = \"full\"\n";
    let c = dockgate::config::Config::from_toml(&format!("{base}{profiles}"), Path::new("/p.toml"))
        .expect("config/profiles.toml loads");
    let names: Vec<&str> = c.profiles.iter().map(|p| p.name.as_str()).collect();
    for want in [
        "monitoring",
        "log-viewer",
        "ci",
        "deployer",
        "traefik",
        "watchtower",
        "homepage",
    ] {
        assert!(names.contains(&want), "{want} missing: {names:?}");
    }
}

#[test]
fn readme_policy_example_loads() {
    let readme = read("README.md");
    let start = readme
        .find("```toml\n[[allow]]\ncn = \"ci-runner\"")
        .expect("the policy example");
    let text = &readme[start + 8..];
    let text = &text[..text.find("```").expect("end of block")];
    let base = "[tls]\nca = \"a\"\ncert = \"b\"\nkey = \"c\"\n";
    let c = dockgate::config::Config::from_toml(&format!("{base}{text}"), Path::new("/p.toml"))
        .unwrap_or_else(|e| panic!("{}", dockgate::check::error_chain(&e)));
    assert_eq!(c.profiles[0].name, "ci");
}
