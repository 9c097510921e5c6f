//! The `igauth` binary run to completion as a command (`setup`, `check-config`, `doctor`,
//! `meta-test`): its exit code and output.

use std::process::Command;

/// What one run of the binary did.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout and stderr together, for messages that may go to either.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// `igauth <args>` with exactly `env` (nothing inherited), to completion.
pub fn igauth(args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_igauth"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("the igauth binary runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `igauth <args>` off the test's runtime thread, for commands that talk to servers this
/// test's runtime serves (a blocking wait there would stall them).
pub async fn igauth_async(args: &[&str], env: &[(&str, &str)]) -> Run {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    actix_web::rt::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        igauth(&args, &env)
    })
    .await
    .expect("the run finishes")
}
