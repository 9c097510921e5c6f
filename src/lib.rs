//! igauth: "Log in with Instagram" for Parse Server apps.
//!
//! Every way in asks one question — does this Instagram access token belong to this user id? —
//! and differs only in how it reads the question and writes the answer. So there is one
//! [`validator::Validator`] (cache and single-flight in front of Instagram's `/me`) and many
//! protocol faces in [`routes`]: plain JSON (`/v1/validate`), RFC 7662 introspection for Parse's
//! built-in OAuth2 adapter (`/v1/introspect`) and Parse's Cloud Code webhooks. The code exchange
//! (`/v1/exchange`) trades a one-time OAuth code for a token server-side so the app secret never
//! ships inside an app.
//!
//! House rules that keep it safe:
//! - only [`instagram`] builds Instagram URLs or reads Instagram's bodies;
//! - only [`routes`] and [`error`] know HTTP statuses and our wire shapes;
//! - input rules live in [`domain`] types ([`domain::IgId`] holds only digits and never passes
//!   through `f64`; [`domain::AccessToken`] redacts itself in `Debug`/`Display`);
//! - "Instagram did not answer" is an [`instagram::UpstreamError`], never a [`domain::Verdict`],
//!   so it can only become a 5xx, never a "no" and never a "yes".

pub mod domain;
pub mod error;
pub mod instagram;
pub mod logging;
pub mod metrics;
pub mod rate_limit;
pub mod routes;
pub mod settings;
// Issue 6: verdicts shared between replicas through Redis.
pub mod shared_cache;
pub mod startup;
pub mod validator;
