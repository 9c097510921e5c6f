//! Properties of [`ReturnTo::parse`] over generated paths and spellings: whatever it accepts,
//! once a browser (or a server behind it) has decoded and resolved it, still lies at or below
//! the entry that admitted it; and an accepted target never carries a `#`.
//!
//! The browser here is a model of its own, written without the parser's helpers.

use proptest::prelude::*;

use super::ReturnTo;

/// (entry origin, the same origin spelled otherwise, origins that differ).
const ORIGINS: [(&str, &str, &[&str]); 4] = [
    (
        "https://app.example",
        "HTTPS://App.Example:443",
        &[
            "https://app.example.evil",
            "https://app.example@evil.example",
            "http://app.example",
            "https://evil.example",
            "https:app.example",
        ],
    ),
    (
        "http://127.0.0.1:8080",
        "HTTP://127.0.0.1:08080",
        &[
            "http://127.0.0.1",
            "http://127.0.0.1:8081",
            "http://127.0.0.10:8080",
        ],
    ),
    (
        "myapp://auth",
        "MYAPP://AUTH",
        &[
            "myapp://authx",
            "myapp://auth.evil",
            "myapp:",
            "otherapp://auth",
        ],
    ),
    (
        "com.example.app:",
        "Com.Example.App:",
        &["com.example.app://evil", "com.example.evil:"],
    ),
];

const WORDS: [&str; 6] = ["login", "done", "cb", "x", "donex", "a.b"];

/// One `.` as a browser or a server might be handed it.
const DOTS: [&str; 8] = [
    ".",
    "%2e",
    "%2E",
    "%252e",
    "%252E",
    "%25%32%65",
    "%25252e",
    "%2525%32%45",
];

/// A `/` (or what some reader takes for one).
const SLASHES: [&str; 6] = ["/", "/", "/", "%2f", "%252F", "%5c"];

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(&WORDS[..]).prop_map(str::to_string),
        3 => (
            proptest::collection::vec(proptest::sample::select(&DOTS[..]), 1..=2),
            proptest::option::weighted(0.2, proptest::sample::select(&WORDS[..])),
        )
            .prop_map(|(dots, tail)| dots.concat() + tail.unwrap_or("")),
        1 => proptest::sample::select(&["", ";x", "%3b", "\\", "%255C", "..;"][..])
            .prop_map(str::to_string),
    ]
}

/// Percent-decodes until nothing changes, reads `\` as `/`, resolves `.` and `..`, and drops
/// empty segments: the path as the most generous reader would finally see it.
fn browser_segments(path: &str) -> Vec<String> {
    let mut text = path.to_string();
    loop {
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find('%') {
            out.push_str(&rest[..at]);
            let escape = rest.get(at + 1..at + 3);
            match escape.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                Some(byte) => {
                    out.push(byte as char);
                    rest = &rest[at + 3..];
                }
                None => {
                    out.push('%');
                    rest = &rest[at + 1..];
                }
            }
        }
        out.push_str(rest);
        if out == text {
            break;
        }
        text = out;
    }
    let mut segments: Vec<String> = Vec::new();
    for segment in text.replace('\\', "/").split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other.to_string()),
        }
    }
    segments
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn accepted_targets_stay_within_their_entry(
        origin in 0..ORIGINS.len(),
        spelling in 0..8usize,
        entry_words in proptest::collection::vec(proptest::sample::select(&WORDS[..3]), 0..3),
        entry_slash in any::<bool>(),
        base in 0..3usize,
        tail in proptest::collection::vec(
            (proptest::sample::select(&SLASHES[..]), segment()), 0..4),
        query in any::<bool>(),
    ) {
        let (entry_origin, same, others) = ORIGINS[origin];
        let mut entry_path = entry_words.iter().map(|w| format!("/{w}")).collect::<String>();
        if entry_slash || (entry_path.is_empty() && entry_origin.ends_with(':')) {
            entry_path.push('/');
        }
        if entry_origin.ends_with(':') && entry_path == "/" {
            entry_path = "/oauth2redirect".into();
        }
        let entry = format!("{entry_origin}{entry_path}");
        let (candidate_origin, same_origin) = match spelling {
            0..=3 => (entry_origin, true),
            4 => (same, true),
            n => (others[n % others.len()], false),
        };
        // Start at the entry's path, just beside it (`/donex`), or at the root.
        let mut path = match base {
            0 => entry_path.trim_end_matches('/').to_string(),
            1 => format!("{}x", entry_path.trim_end_matches('/')),
            _ => String::new(),
        };
        for (slash, segment) in &tail {
            path.push_str(slash);
            path.push_str(segment);
        }
        let candidate = format!(
            "{candidate_origin}{path}{}",
            if query { "?app_state=%2F..%2F&next=/../x" } else { "" }
        );
        if let Ok(target) = ReturnTo::parse(&candidate, std::slice::from_ref(&entry)) {
            prop_assert!(same_origin, "{candidate} admitted by {entry}");
            prop_assert!(!target.as_str().contains('#'));
            let seen = browser_segments(&path);
            let within = browser_segments(&entry_path);
            prop_assert!(
                seen.starts_with(&within),
                "{candidate} admitted by {entry} resolves to /{} outside /{}",
                seen.join("/"),
                within.join("/")
            );
        }
    }

    #[test]
    fn accepted_targets_never_carry_a_fragment(
        entry in proptest::sample::select(&[
            "https://app.example", "https://app.example/done", "myapp://auth",
            "com.example.app:/oauth2redirect",
        ][..]),
        tail in "[#%23/?=&a.]{0,12}",
    ) {
        let candidate = format!("{entry}{tail}");
        if let Ok(target) = ReturnTo::parse(&candidate, &[entry.to_string()]) {
            prop_assert!(!target.as_str().contains('#'), "{candidate}");
            prop_assert_eq!(target.with_fragment("id=1").matches('#').count(), 1);
        }
    }
}
