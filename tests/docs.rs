//! The docs are part of the product: the README stays short and points at every page, every
//! setting igauth reads is documented, and every relative link resolves. Helpers that add a
//! setting or move a page find out here, in `cargo test`, not from a reader.

use std::path::Path;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

const PAGES: [&str; 7] = [
    "docs/configuration.md",
    "docs/parse.md",
    "docs/login-flow.md",
    "docs/meta-app.md",
    "docs/going-live.md",
    "docs/operations.md",
    "BENCHMARKS.md",
];

#[test]
fn readme_is_short_and_links_every_page() {
    let readme = read("README.md");
    let lines = readme.lines().count();
    assert!(
        lines <= 250,
        "README.md has {lines} lines; keep it at 250 or fewer and move the rest to docs/"
    );
    for page in PAGES.iter().chain(&["CHANGELOG.md"]) {
        read(page);
        assert!(
            readme.contains(&format!("]({page}")),
            "README.md does not link {page}"
        );
    }
    assert!(
        readme.contains("## Which setup?"),
        "README.md lost its \"Which setup?\" table"
    );
}

/// Every `[section] key` of the built-in defaults, as the variable people set, is in
/// docs/configuration.md.
#[test]
fn every_setting_is_documented() {
    let source = read("src/settings/mod.rs");
    let start = source
        .find("const DEFAULTS: &str = r#\"")
        .expect("DEFAULTS in src/settings/mod.rs");
    let defaults = &source[start..];
    let defaults = &defaults[..defaults.find("\"#;").expect("end of DEFAULTS")];
    let docs = read("docs/configuration.md");
    let mut section = "";
    let mut missing = Vec::new();
    let mut seen = 0;
    for line in defaults.lines().skip(1).map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name;
        } else if let Some((key, _)) = line.split_once('=') {
            let var = format!("IGAUTH_{}__{}", section, key.trim()).to_uppercase();
            seen += 1;
            if !docs.contains(&format!("`{var}`")) {
                missing.push(var);
            }
        }
    }
    assert!(
        seen > 40,
        "read only {seen} settings from DEFAULTS: did its shape change?"
    );
    assert!(
        missing.is_empty(),
        "docs/configuration.md does not document {missing:?}"
    );
}

#[test]
fn every_relative_link_resolves() {
    let out = std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check_links.py"))
        .output()
        .expect("python3 runs scripts/check_links.py");
    assert!(
        out.status.success(),
        "broken links:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
