//! Every setting has a name, and a name igauth does not know stops startup: an operator who types
//! `IGAUTH_SERVER__APIKEY` must hear about it, not get an open service. The known names are the
//! keys of the built-in defaults, so a new setting is known as soon as it has a default.
//!
//! `IGAUTH_<SECTION>__<KEY>` variables (two underscores) and every key of the TOML file are
//! checked. Variables without `__` are not igauth's (Kubernetes adds `IGAUTH_SERVICE_HOST`,
//! `IGAUTH_PORT_8080_TCP` and the like for a Service named `igauth`), unless they start with a
//! section name, which is the typo of a single underscore (`IGAUTH_SERVER_API_KEY`).

use config::{Config, File, FileFormat, Map, Value};

/// The variable naming the config file, read before the settings themselves.
const CONFIG_VAR: &str = "IGAUTH_CONFIG";

/// `section.key` of every setting.
pub(super) fn known(defaults: &str) -> Vec<String> {
    keys_of(File::from_str(defaults, FileFormat::Toml)).unwrap_or_default()
}

/// The `section.key` names a TOML source defines (a key outside any section is just `key`).
fn keys_of(source: File<config::FileSourceString, FileFormat>) -> Result<Vec<String>, String> {
    let table: Map<String, Value> = Config::builder()
        .add_source(source)
        .build()
        .and_then(|c| c.try_deserialize())
        .map_err(|e| e.to_string())?;
    Ok(flatten(table))
}

fn flatten(table: Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for (section, value) in table {
        match value.into_table() {
            Ok(inner) if !inner.is_empty() => {
                out.extend(inner.into_keys().map(|key| format!("{section}.{key}")));
            }
            _ => out.push(section),
        }
    }
    out
}

pub(super) fn env_var(key: &str) -> String {
    format!("IGAUTH_{}", key.replace('.', "__").to_uppercase())
}

/// Refuses unknown `IGAUTH_*` variables and unknown keys in the TOML file at `file`.
pub(super) fn check_names(
    defaults: &str,
    env: &[(String, String)],
    file: Option<&str>,
) -> Result<(), String> {
    let known = known(defaults);
    let sections: Vec<String> = known
        .iter()
        .filter_map(|k| k.split_once('.').map(|(s, _)| s.to_uppercase()))
        .collect();
    for (name, _) in env {
        let Some(rest) = name.strip_prefix("IGAUTH_") else {
            continue;
        };
        if name == CONFIG_VAR {
            continue;
        }
        if let Some((section, key)) = rest.split_once("__") {
            let wanted = format!("{}.{}", section.to_lowercase(), key.to_lowercase());
            if !known.contains(&wanted) {
                return Err(unknown(name, &wanted, &known, env_var));
            }
        } else if sections.iter().any(|s| rest.starts_with(&format!("{s}_")))
            && !is_kubernetes_service_variable(rest)
        {
            let (section, key) = rest.split_once('_').unwrap_or((rest, ""));
            let wanted = format!("{}.{}", section.to_lowercase(), key.to_lowercase());
            return Err(unknown(name, &wanted, &known, env_var));
        }
    }
    if let Some(path) = file {
        let source = std::fs::read_to_string(path)
            .map_err(|e| format!("the config file {path:?} cannot be read: {e}"))?;
        let keys = keys_of(File::from_str(&source, FileFormat::Toml))
            .map_err(|e| format!("the config file {path:?} is not valid TOML: {e}"))?;
        for key in keys {
            if !known.contains(&key) {
                let describe = |k: &str| format!("`{k}` in {path}");
                return Err(unknown(&describe(&key), &key, &known, describe));
            }
        }
    }
    Ok(())
}

/// What Kubernetes injects for a Service whose name starts with the section's word:
/// `<NAME>_SERVICE_HOST`, `<NAME>_SERVICE_PORT[_<PORT>]`, `<NAME>_PORT[_<N>_<PROTO>[_...]]`.
fn is_kubernetes_service_variable(rest: &str) -> bool {
    rest.contains("_SERVICE_HOST")
        || rest.contains("_SERVICE_PORT")
        || rest.ends_with("_PORT")
        || ["_TCP", "_UDP", "_SCTP"]
            .iter()
            .any(|proto| rest.contains(&format!("{proto}_")) || rest.ends_with(proto))
}

fn unknown(what: &str, wanted: &str, known: &[String], spell: impl Fn(&str) -> String) -> String {
    let hint = closest(wanted, known)
        .map(|k| format!("; did you mean {}?", spell(k)))
        .unwrap_or_default();
    format!("{what} is not a setting igauth knows{hint} (every setting is listed in docs/configuration.md)")
}

/// The known name closest to `wanted`: the same letters without separators, or a few edits away.
fn closest<'k>(wanted: &str, known: &'k [String]) -> Option<&'k str> {
    let bare = |s: &str| s.replace(['_', '.'], "");
    if let Some(same) = known.iter().find(|k| bare(k) == bare(wanted)) {
        return Some(same);
    }
    known
        .iter()
        .map(|k| (edits(k, wanted), k))
        .filter(|(d, k)| *d <= (k.len() / 4).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

/// Levenshtein distance.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut last = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(last + usize::from(ca != *cb));
            last = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The `config` crate reports keys as `section.key`; operators set `IGAUTH_SECTION__KEY`.
pub(super) fn env_names(message: &str) -> String {
    let mut out = message.to_string();
    if let Some(start) = message.find("for key `") {
        let rest = &message[start + 9..];
        if let Some(end) = rest.find('`') {
            out.push_str(&format!(" (set by {})", env_var(&rest[..end])));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: &str = "[server]\nbind = \"x\"\napi_key = \"\"\n[cache]\nredis_url = \"\"\n";

    fn env(names: &[&str]) -> Vec<(String, String)> {
        names.iter().map(|n| (n.to_string(), "v".into())).collect()
    }

    #[test]
    fn known_names_pass_and_typos_name_the_closest() {
        assert!(check_names(DEFAULTS, &env(&["IGAUTH_SERVER__API_KEY", "PATH"]), None).is_ok());
        let err = check_names(DEFAULTS, &env(&["IGAUTH_SERVER__APIKEY"]), None).unwrap_err();
        assert!(
            err.contains("IGAUTH_SERVER__APIKEY is not a setting")
                && err.contains("did you mean IGAUTH_SERVER__API_KEY?"),
            "{err}"
        );
        let err = check_names(DEFAULTS, &env(&["IGAUTH_SERVER_API_KEY"]), None).unwrap_err();
        assert!(
            err.contains("did you mean IGAUTH_SERVER__API_KEY?"),
            "{err}"
        );
        let err = check_names(DEFAULTS, &env(&["IGAUTH_CACHE__REDIS_URI"]), None).unwrap_err();
        assert!(
            err.contains("did you mean IGAUTH_CACHE__REDIS_URL?"),
            "{err}"
        );
        let err = check_names(DEFAULTS, &env(&["IGAUTH_NOPE__WHATEVER"]), None).unwrap_err();
        assert!(!err.contains("did you mean"), "{err}");
    }

    #[test]
    fn kubernetes_service_variables_and_the_config_path_are_not_settings() {
        let injected = [
            "IGAUTH_CONFIG",
            "IGAUTH_SERVICE_HOST",
            "IGAUTH_SERVICE_PORT",
            "IGAUTH_SERVICE_PORT_HTTP",
            "IGAUTH_PORT",
            "IGAUTH_PORT_8080_TCP",
            "IGAUTH_PORT_8080_TCP_ADDR",
            "IGAUTH_SERVER_SERVICE_HOST",
            "IGAUTH_SERVER_PORT_8080_TCP_PROTO",
            "IGAUTH_CACHE_PORT",
        ];
        assert_eq!(check_names(DEFAULTS, &env(&injected), None), Ok(()));
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        let path = std::env::temp_dir().join(format!("igauth-names-{}.toml", std::process::id()));
        std::fs::write(&path, "[server]\napikey = \"k\"\n").unwrap();
        let err = check_names(DEFAULTS, &[], path.to_str()).unwrap_err();
        assert!(
            err.contains("`server.apikey`") && err.contains("did you mean `server.api_key`"),
            "{err}"
        );
        std::fs::write(&path, "[server]\napi_key = \"k\"\n").unwrap();
        assert_eq!(check_names(DEFAULTS, &[], path.to_str()), Ok(()));
        let _ = std::fs::remove_file(&path);
    }
}
