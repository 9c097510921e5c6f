//! The login flow: `/v1/authorize`, `/v1/callback`, `/v1/token`, `/v1/refresh`, `/v1/demo`, one
//! file per route, all on the harness in `helpers/login.rs`.
//!
//! Every redirect is read, never followed. Besides what each test checks, every answer goes
//! through `assert_clean`: no client secret, state secret, code or Instagram token anywhere in
//! a `Location` header or a page. A login ends with `#code=<handoff code>`, which `landed`
//! redeems at `/v1/token` with the PKCE verifier the login started with.

mod authorize;
mod callback;
mod demo;
mod logs;
mod refresh;
mod token;
