//! The `igauth` binary: `serve` (default), `check-config`, `healthcheck`.

use std::process::ExitCode;

use igauth::settings::Settings;
use igauth::startup::Application;

const USAGE: &str = "usage: igauth [--config PATH] [serve | check-config | healthcheck]";

fn main() -> ExitCode {
    let mut config_path = None;
    let mut command = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" | "-c" => match args.next() {
                Some(path) => config_path = Some(path),
                None => return usage_error("--config needs a path"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "serve" | "check-config" | "healthcheck" if command.is_none() => command = Some(arg),
            other => return usage_error(&format!("unexpected argument {other:?}")),
        }
    }
    let settings = match Settings::load(config_path) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("igauth: {message}");
            return ExitCode::from(2);
        }
    };
    match command.as_deref().unwrap_or("serve") {
        "check-config" => check_config(&settings),
        "healthcheck" => healthcheck(&settings),
        _ => serve(settings),
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("igauth: {message}\n{USAGE}");
    ExitCode::from(2)
}

/// Prints the effective configuration (secrets redacted), then what is wrong with it. Exit 0: it
/// is usable; 1: it asks for a feature it leaves unable to work (`serve` would start with that
/// feature off); 2 (from loading): `serve` would not start at all.
fn check_config(settings: &Settings) -> ExitCode {
    println!("{settings:#?}");
    for warning in settings.warnings() {
        println!("warning: {warning}");
    }
    let errors = settings.setup_errors();
    if errors.is_empty() {
        println!("configuration OK");
        return ExitCode::SUCCESS;
    }
    for error in &errors {
        println!("error: {error}");
        eprintln!("igauth: {error}");
    }
    eprintln!(
        "igauth: the configuration is not usable as it stands ({} error{})",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
    ExitCode::FAILURE
}

/// For container HEALTHCHECKs: GET /readyz on our own port, with no curl in the image.
fn healthcheck(settings: &Settings) -> ExitCode {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::time::Duration;

    let Ok(mut addr) = settings.bind_addr() else {
        return ExitCode::FAILURE;
    };
    if addr.ip().is_unspecified() {
        addr = SocketAddr::from(([127, 0, 0, 1], addr.port()));
    }
    let probe = || -> std::io::Result<bool> {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream
            .write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        Ok(head.starts_with(b"HTTP/1.1 200"))
    };
    match probe() {
        Ok(true) => ExitCode::SUCCESS,
        _ => {
            eprintln!("igauth: not ready at {addr}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: Settings) -> ExitCode {
    igauth::logging::init(&settings);
    // A half-configured feature stays off (it answers 503) rather than stopping validation.
    for warning in settings
        .setup_errors()
        .into_iter()
        .chain(settings.warnings())
    {
        log::warn!("{warning}");
    }
    let result = actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings)?;
        log::info!("igauth listening on port {}", app.port());
        if let Some(port) = app.metrics_port() {
            log::info!("/metrics on its own listener, port {port}");
        }
        app.run_until_stopped().await
    });
    let code = match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("igauth stopped: {e}");
            igauth::logging::flush();
            eprintln!("igauth: {e}");
            ExitCode::FAILURE
        }
    };
    igauth::logging::flush();
    code
}
