//! igauth: "Log in with Instagram" for Parse Server apps.
//!
//! Every way in asks one question — does this Instagram access token belong to this user id? —
//! and differs only in how it reads the question and writes the answer. So there is one
//! validator (cache and single-flight in front of Instagram's `/me`) and many protocol faces in
//! `routes`: plain JSON (`/v1/validate`), RFC 7662 introspection for Parse's built-in OAuth2
//! adapter (`/v1/introspect`) and Parse's Cloud Code webhooks. The code exchange (`/v1/exchange`)
//! trades a one-time OAuth code for a token server-side so the app secret never ships inside an
//! app; the login flow (`/v1/authorize`, `/v1/callback`) runs the whole browser login.
//!
//! Meta's compliance callbacks (`/v1/meta/deauthorize`, `/v1/meta/data-deletion`) verify Meta's
//! signed request with the app secret and act on the Parse users through Parse's REST API.
//!
//! Imports run one way: routes -> use cases (`validator`, `exchange`, `login_states`,
//! `meta_callbacks`) -> `instagram`, `parse_api` and `shared_cache` ->
//! [`domain`]; `settings`, `error`, `logging` and `metrics`
//! sit below them all. `ARCHITECTURE.md` maps every behaviour to its file.
//!
//! House rules that keep it safe:
//! - only `instagram` builds Instagram URLs or reads Instagram's bodies;
//! - only `routes` and `error` know HTTP statuses and our wire shapes;
//! - input rules live in [`domain`] types ([`domain::IgId`] holds only digits and never passes
//!   through `f64`; [`domain::AccessToken`] redacts itself in `Debug`/`Display`);
//! - "Instagram did not answer" is an upstream error, never a [`domain::Verdict`], so it can only
//!   become a 5xx, never a "no" and never a "yes".
//!
//! The library's interface is what the binary and the tests need: [`commands`] (the whole command
//! line, which `main.rs` hands over to), [`settings`] (load and check the configuration),
//! [`startup`] (run the app), and `testing` (a login state signed outside the app, for the
//! black-box tests). Everything else, the domain types included, is crate-private, so rustc
//! reports what nothing uses.

mod clock;
pub mod commands;
mod domain;
mod error;
mod exchange;
mod handoff;
mod instagram;
mod logging;
mod login_states;
mod meta_callbacks;
mod metrics;
mod parse_api;
mod rate_limit;
mod routes;
mod sessions;
pub mod settings;
mod shared_cache;
pub mod startup;
mod state;
#[doc(hidden)]
pub mod testing;
mod transport;
mod unread_body;
mod validator;
