//! Instagram's throttling respected: after Instagram says the app is throttled, igauth stops
//! calling `/me` until the `Retry-After` it tells its callers has passed; callers keep getting
//! 503 `upstream_rate_limited`, never a verdict.

use crate::helpers::*;

#[actix_web::test]
async fn three_hundred_validations_during_a_throttle_make_a_handful_of_me_calls() {
    let mut app = spawn_app().await;
    let me = app.any_me().answer(400, RATE_LIMITED_BODY);
    let me = me.expect_at_least(1).expect_at_most(3).create_async().await;
    for i in 0..300 {
        // A different token each time: neither the cache nor single-flight can spare a call.
        let answer = app.validate(BIG_ID, &format!("IGT-throttled-{i}")).await;
        assert_envelope(&answer, 503, "upstream_rate_limited");
        assert_eq!(answer.header("retry-after"), Some("30"), "{}", answer.text);
    }
    me.assert_async().await;
}
