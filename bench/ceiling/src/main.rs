//! The benchmark's ceilings: the fastest an actix-web service on this machine can answer a
//! validation-shaped request.
//!
//! - Default: it reads the JSON body (as igauth must) and returns a canned verdict, so the gap
//!   between this and igauth's cached path is igauth's own work.
//! - With `UPSTREAM=<url>` (the "proxy floor"): it also reads the token out of the body and makes
//!   the one `GET /me` an uncached validation needs, with awc on a pooled connection as igauth
//!   does, then returns the same canned verdict. That is the least an uncached validation can
//!   cost with this stack: igauth's uncached CPU minus this one is igauth's own work.

use actix_web::{web, App, HttpResponse, HttpServer};
use serde::Deserialize;

const ANSWER: &str = r#"{"valid":true,"id":"17841405793187219","username":"bench"}"#;

async fn validate(body: web::Bytes) -> HttpResponse {
    // Touch the body so the comparison with igauth is fair: both read the whole request.
    let _ = body.len();
    HttpResponse::Ok()
        .content_type("application/json")
        .body(ANSWER)
}

#[derive(Deserialize)]
struct Claim<'a> {
    #[serde(borrow)]
    access_token: &'a str,
}

async fn validate_upstream(
    body: web::Bytes,
    upstream: web::Data<String>,
    client: web::Data<awc::Client>,
) -> HttpResponse {
    let Ok(claim) = serde_json::from_slice::<Claim>(&body) else {
        return HttpResponse::BadRequest().finish();
    };
    let url = format!(
        "{}/me?fields=id,user_id,username&access_token={}",
        upstream.as_str(),
        claim.access_token
    );
    match client.get(url).send().await {
        Ok(mut res) if res.status().is_success() => match res.body().await {
            Ok(_) => HttpResponse::Ok()
                .content_type("application/json")
                .body(ANSWER),
            Err(_) => HttpResponse::BadGateway().finish(),
        },
        _ => HttpResponse::BadGateway().finish(),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".to_string());
    let workers = std::env::var("WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(2);
    let upstream = std::env::var("UPSTREAM").ok();
    HttpServer::new(move || match &upstream {
        Some(url) => App::new()
            .app_data(web::Data::new(url.trim_end_matches('/').to_string()))
            // awc clients cannot cross threads: one pooled client per worker, as in igauth.
            .app_data(web::Data::new(awc::Client::default()))
            .route("/v1/validate", web::post().to(validate_upstream)),
        None => App::new().route("/v1/validate", web::post().to(validate)),
    })
    .workers(workers)
    .bind(&bind)?
    .run()
    .await
}
