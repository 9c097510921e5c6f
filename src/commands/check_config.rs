//! `igauth check-config`: the effective settings as the variables people set, secrets
//! redacted, then every finding (the same list `serve` logs at startup).

use std::process::ExitCode;

use crate::settings::{Settings, Severity};

/// Exit 0: usable; 1: it asks for a feature it leaves unable to work (`serve` would start with
/// that feature off); 2 (from loading): `serve` would not start at all.
pub(super) fn check_config(settings: &Settings) -> ExitCode {
    for (name, value) in &settings.effective {
        println!("{name}={value}");
    }
    println!();
    let findings = settings.findings();
    for finding in &findings {
        println!("{}", finding.line());
        if finding.severity == Severity::Error {
            eprintln!("igauth: {}", finding.message);
        }
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    if errors == 0 {
        println!("configuration OK");
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "igauth: the configuration is not usable as it stands ({errors} error{})",
        if errors == 1 { "" } else { "s" }
    );
    ExitCode::FAILURE
}
