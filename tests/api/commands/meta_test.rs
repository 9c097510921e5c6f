//! `igauth meta-test`: a Meta callback signed as Meta signs it, sent to a running igauth.

use crate::helpers::binary::igauth_async;
use crate::helpers::{ChildApp, CLIENT_SECRET};

#[actix_web::test]
async fn a_signed_data_deletion_reaches_igauth_and_ends_in_a_status_url() {
    let env = [
        ("IGAUTH_INSTAGRAM__CLIENT_SECRET", CLIENT_SECRET),
        ("IGAUTH_SERVER__PUBLIC_URL", "https://auth.example"),
    ];
    let app = ChildApp::spawn(&env).await;
    let url = app.url("");
    let run = igauth_async(
        &[
            "meta-test",
            "data-deletion",
            "17841400000000042",
            "--url",
            &url,
        ],
        &env,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stdout.contains("HTTP 200"), "{}", run.stdout);
    let status_url = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("status: "))
        .unwrap_or_else(|| panic!("no status URL in:\n{}", run.stdout));
    let path = status_url
        .strip_prefix("https://auth.example")
        .unwrap_or_else(|| panic!("{status_url}"));
    assert!(path.starts_with("/v1/meta/data-deletion/"), "{status_url}");

    let status = awc::Client::new()
        .get(app.url(path))
        .insert_header(("Accept", "application/json"))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert!(status["completed_at"].is_string(), "{status}");

    let deauthorize = igauth_async(
        &[
            "meta-test",
            "deauthorize",
            // Another person: the same id in the same second would be the same
            // payload, which igauth rightly acts on once, for one callback.
            "17841400000000043",
            "--url",
            &url,
        ],
        &env,
    )
    .await;
    assert_eq!(deauthorize.code, Some(0), "{}", deauthorize.all());

    // Signed with another secret, it is refused, and meta-test says so.
    let wrong = igauth_async(
        &["meta-test", "deauthorize", "42", "--url", &url],
        &[("IGAUTH_INSTAGRAM__CLIENT_SECRET", "some-other-secret")],
    )
    .await;
    assert_eq!(wrong.code, Some(1), "{}", wrong.all());
    assert!(wrong.stdout.contains("HTTP 400"), "{}", wrong.all());
    app.terminate().await;
}

#[actix_web::test]
async fn without_a_secret_or_a_target_it_says_what_to_set() {
    let run = igauth_async(&["meta-test", "data-deletion", "42"], &[]).await;
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("IGAUTH_INSTAGRAM__CLIENT_SECRET"),
        "{}",
        run.stderr
    );
    let run = igauth_async(
        &["meta-test", "data-deletion", "42"],
        &[("IGAUTH_INSTAGRAM__CLIENT_SECRET", CLIENT_SECRET)],
    )
    .await;
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("IGAUTH_SERVER__PUBLIC_URL"),
        "{}",
        run.stderr
    );
    let run = igauth_async(&["meta-test", "delete", "42"], &[]).await;
    assert_eq!(run.code, Some(2));
}
