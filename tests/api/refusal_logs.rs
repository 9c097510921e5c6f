//! Refusals anyone can provoke are counted, not shouted: forged Meta callbacks and calls with a
//! wrong API or webhook key go to their metrics, and the log says so at most once a minute per
//! kind, with a count. The API-key line names what to fix on both sides.

use crate::helpers::{http_client, metric, ChildApp, API_KEY, CLIENT_SECRET, WEBHOOK_KEY};

#[actix_web::test]
async fn two_hundred_forged_calls_give_one_warn_line_per_kind_and_full_counts() {
    let app = ChildApp::spawn(&[
        ("IGAUTH_SERVER__API_KEY", API_KEY),
        ("IGAUTH_PARSE__WEBHOOK_KEY", WEBHOOK_KEY),
        ("IGAUTH_INSTAGRAM__CLIENT_ID", "0123456789"),
        ("IGAUTH_INSTAGRAM__CLIENT_SECRET", CLIENT_SECRET),
        ("IGAUTH_SERVER__PUBLIC_URL", "https://auth.example"),
        // Never reached: every call here is refused before Parse or Instagram would be asked.
        ("IGAUTH_PARSE__SERVER_URL", "http://127.0.0.1:9/parse"),
        ("IGAUTH_PARSE__APP_ID", "app"),
        (
            "IGAUTH_PARSE__MASTER_KEY",
            "master-key-of-the-refusal-test-91",
        ),
        ("IGAUTH_INSTAGRAM__GRAPH_URL", "http://127.0.0.1:9"),
        ("IGAUTH_INSTAGRAM__API_URL", "http://127.0.0.1:9"),
    ])
    .await;
    let http = http_client(10);
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let json = ("Content-Type", "application/json");
    for i in 0..50 {
        let forged = format!("signed_request=forged{i}.eyJ1c2VyX2lkIjoiMSJ9");
        for path in ["/v1/meta/deauthorize", "/v1/meta/data-deletion"] {
            let res = http
                .post(app.url(path))
                .insert_header(form)
                .send_body(forged.clone())
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 400, "{path}");
        }
        let res = http
            .post(app.url("/v1/validate"))
            .insert_header(json)
            .insert_header(("Authorization", "Bearer not-the-key"))
            .send_body(r#"{"id":"1","access_token":"IGT"}"#)
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 401);
        let res = http
            .post(app.url("/v1/parse/functions/validate"))
            .insert_header(json)
            .insert_header(("X-Parse-Webhook-Key", "not-the-key"))
            .send_body(r#"{"params":{}}"#)
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "Parse's protocol");
    }
    let mut res = http
        .get(app.url("/metrics"))
        .insert_header(("Authorization", format!("Bearer {API_KEY}")))
        .send()
        .await
        .unwrap();
    let text = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
    for (series, count) in [
        (r#"igauth_wrong_key_total{key="api_key"}"#, 50.0),
        (r#"igauth_wrong_key_total{key="webhook_key"}"#, 50.0),
        (
            r#"igauth_meta_callbacks_total{outcome="invalid",route="deauthorize"}"#,
            50.0,
        ),
        (
            r#"igauth_meta_callbacks_total{outcome="invalid",route="data_deletion"}"#,
            50.0,
        ),
    ] {
        assert_eq!(metric(&text, series), Some(count), "{series}\n{text}");
    }
    let stderr = app.terminate().await.stderr;
    let warns = |what: &str| {
        stderr
            .lines()
            .filter(|l| l.contains(" WARN ") && l.contains(what))
            .collect::<Vec<_>>()
    };
    for kind in [
        "callback refused",
        "API call refused",
        "Parse webhook refused",
    ] {
        let lines = warns(kind);
        assert_eq!(lines.len(), 1, "{kind}: one line a minute:\n{stderr}");
        assert!(lines[0].contains("(1 refused since"), "{}", lines[0]);
    }
    let api = warns("API call refused");
    assert!(
        api[0].contains("auth.instagram.authorizationHeader")
            && api[0].contains("IGAUTH_SERVER__API_KEY")
            && api[0].contains("is wrong"),
        "{}",
        api[0]
    );
}
