//! Only verified ids decide: an authData `user_id` (the professional-account id stored beside
//! `id`) must be the one Instagram's `/me` gives for the token, on `/v1/validate`, the Parse
//! validate webhook and the `_User` trigger; otherwise the claim is refused as `id_mismatch`.

use crate::helpers::*;

const PRO_ID: &str = "27640875392278831";

fn me_with_user_id(user_id: &str) -> String {
    format!(r#"{{"id":"{BIG_ID}","user_id":"{user_id}","username":"jay"}}"#)
}

fn claim(token: &str, user_id: &str) -> String {
    format!(r#"{{"id":"{BIG_ID}","access_token":"{token}","user_id":"{user_id}"}}"#)
}

#[actix_web::test]
async fn validate_refuses_a_user_id_that_me_does_not_give() {
    let mut app = spawn_app().await;
    let _me = app.mock_me("IGT-pro", 200, &me_with_user_id(PRO_ID)).await;
    let _plain = app.me_ok("IGT-plain").await;
    let answer = app
        .post_json("/v1/validate", &claim("IGT-pro", PRO_ID))
        .await;
    assert_eq!(answer.json()["valid"], true, "{}", answer.text);
    for (token, user_id) in [
        ("IGT-pro", "27640875392278830"),
        ("IGT-pro", BIG_ID),
        // `/me` gave no user_id: one claimed cannot be verified.
        ("IGT-plain", PRO_ID),
    ] {
        let answer = app.post_json("/v1/validate", &claim(token, user_id)).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json()["valid"], false, "{token} {user_id}");
        assert_eq!(answer.json()["reason"], "id_mismatch", "{}", answer.text);
    }
}

#[actix_web::test]
async fn the_webhooks_refuse_a_foreign_user_id() {
    let mut app = spawn_app().await;
    let _me = app.mock_me("IGT-pro", 200, &me_with_user_id(PRO_ID)).await;
    let params = claim("IGT-pro", "27640875392278830");
    let body = format!(r#"{{"params":{params}}}"#);
    let answer = app.webhook("/v1/parse/functions/validate", &body).await;
    answer.assert_has("\"error\"");
    let object = format!(r#"{{"authData":{{"instagram":{params}}},"className":"_User"}}"#);
    let call = format!(r#"{{"triggerName":"beforeSave","object":{object},"master":false}}"#);
    let answer = app.webhook("/v1/parse/triggers/user", &call).await;
    answer.assert_has("\"error\"");
    // The verified one passes.
    let params = claim("IGT-pro", PRO_ID);
    let object = format!(r#"{{"authData":{{"instagram":{params}}},"className":"_User"}}"#);
    let call = format!(r#"{{"triggerName":"beforeSave","object":{object},"master":false}}"#);
    let answer = app.webhook("/v1/parse/triggers/user", &call).await;
    assert_eq!(answer.text, "{}");
}
