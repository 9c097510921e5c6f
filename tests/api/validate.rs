use crate::helpers::*;

#[actix_web::test]
async fn valid_token_for_the_same_id_is_valid() {
    let mut app = spawn_app().await;
    let me = app.mock_me("IGT-good", 200, &me_body(BIG_ID, "jay")).await;
    let answer = app.validate(BIG_ID, "IGT-good").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body["valid"], true);
    assert_eq!(body["id"], BIG_ID);
    assert_eq!(body["username"], "jay");
    me.assert_async().await;
}
