//! `igauth serve` (run the service) and `igauth healthcheck` (ask it whether it is ready).

use std::process::ExitCode;

use crate::settings::Settings;
use crate::startup::Application;

/// Runs until SIGTERM. Every finding of the configuration is logged first, the same list
/// `check-config` prints: a half-configured feature stays off (it answers 503) rather than
/// stopping validation.
pub(super) fn serve(settings: Settings) -> ExitCode {
    crate::logging::init(&settings);
    for finding in settings.findings() {
        log::warn!("{}", finding.line());
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
            crate::logging::flush();
            eprintln!("igauth: {e}");
            ExitCode::FAILURE
        }
    };
    crate::logging::flush();
    code
}

/// For container HEALTHCHECKs: GET /readyz on our own port, with no curl in the image.
pub(super) fn healthcheck(settings: &Settings) -> ExitCode {
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
