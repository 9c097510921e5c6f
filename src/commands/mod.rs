//! The `igauth` command line: `serve` (the default), `check-config`, `setup`, `doctor`,
//! `meta-test` and `healthcheck`. `main.rs` only hands over to [`main`]; each command is a file
//! here, and they sit above everything else (a command may use any module; nothing uses them).

mod check_config;
mod doctor;
mod meta_test;
mod serve;
mod setup;

use std::process::ExitCode;

use crate::settings::Settings;

const USAGE: &str = "usage: igauth [--config PATH] [COMMAND]

commands:
  serve          run the service (the default)
  check-config   print the settings as IGAUTH_... variables, then what is wrong with them
  setup          print what to paste into Meta's App Dashboard and into Parse
  doctor         try Instagram, Parse, Redis and the public URLs live, one line per check
  meta-test <deauthorize|data-deletion> <instagram-id> [--url URL]
                 send a signed Meta callback to a running igauth, as Meta would
  healthcheck    exit 0 when igauth on this machine is ready (for container HEALTHCHECKs)";

/// What the command line asked for.
enum Command {
    Serve,
    CheckConfig,
    Setup,
    Doctor,
    MetaTest(meta_test::Request),
    Healthcheck,
}

/// Runs the command line of this process.
pub fn main() -> ExitCode {
    let (config_path, command) = match parse(std::env::args().skip(1)) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("igauth: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let settings = match Settings::load(config_path) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("igauth: {message}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Serve => serve::serve(settings),
        Command::CheckConfig => check_config::check_config(&settings),
        Command::Setup => setup::setup(&settings),
        Command::Doctor => doctor::doctor(&settings),
        Command::MetaTest(request) => meta_test::meta_test(&settings, &request),
        Command::Healthcheck => serve::healthcheck(&settings),
    }
}

/// `Ok(None)` is a request for help.
fn parse(
    mut args: impl Iterator<Item = String>,
) -> Result<Option<(Option<String>, Command)>, String> {
    let mut config_path = None;
    let mut command = None;
    let mut rest = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" | "-c" => match args.next() {
                Some(path) => config_path = Some(path),
                None => return Err("--config needs a path".into()),
            },
            "-h" | "--help" => return Ok(None),
            "--url" if command.as_deref() == Some("meta-test") => match args.next() {
                Some(url) => rest.push(format!("--url={url}")),
                None => return Err("--url needs a URL".into()),
            },
            name
            @ ("serve" | "check-config" | "setup" | "doctor" | "meta-test" | "healthcheck")
                if command.is_none() =>
            {
                command = Some(name.to_string());
            }
            _ if command.as_deref() == Some("meta-test") => rest.push(arg),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let command = match command.as_deref().unwrap_or("serve") {
        "check-config" => Command::CheckConfig,
        "setup" => Command::Setup,
        "doctor" => Command::Doctor,
        "healthcheck" => Command::Healthcheck,
        "meta-test" => Command::MetaTest(meta_test::Request::parse(&rest)?),
        _ => Command::Serve,
    };
    Ok(Some((config_path, command)))
}
