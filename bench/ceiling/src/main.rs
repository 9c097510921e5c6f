//! The benchmark's ceiling: the fastest an actix-web service on this machine can answer a
//! validation-shaped request. It reads the JSON body (as igauth must) and returns a canned
//! verdict, so the gap between this and igauth's cached path is igauth's own work.

use actix_web::{web, App, HttpResponse, HttpServer};

async fn validate(body: web::Bytes) -> HttpResponse {
    // Touch the body so the comparison with igauth is fair: both read the whole request.
    let _ = body.len();
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"valid":true,"id":"17841405793187219","username":"bench"}"#)
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
    HttpServer::new(|| App::new().route("/v1/validate", web::post().to(validate)))
        .workers(workers)
        .bind(&bind)?
        .run()
        .await
}
