//! The one harness every API test stands on; no test file imports another.
//!
//! - [`app`]: the real app on port 0 with a mockito Instagram (`spawn_app`), `TestApp`, `Answer`.
//! - [`instagram`]: Instagram's answers and `/me` mocks, and checking mocks got their calls.
//! - [`upstream`]: raw TCP Instagrams for resets, hangs, stalls, late and cut-off answers.
//! - [`faults`]: load on every route that asks Instagram, and the fail-closed check.
//! - [`limits`]: tight exchange limits, and an exchange from a chosen client.
//! - [`checks`]: the error envelope, security headers, no-store.
//! - [`child`]: the real binary as a child process (`ChildApp`).
//! - [`binary`]: the real binary run to completion as a command (`igauth`, `igauth_async`).
//! - [`grants`]: `/v1/exchange` calls and Instagram's code exchange mocked for them.
//! - [`login`]: the login flow's harness: a browser, a login's steps, signed states.
//! - [`parse`]: Parse Server played by mockito, and Meta's signed requests.
//! - [`webhooks`]: Parse's webhook calls, and checks of Parse's protocol in the answers.
//! - [`hostile`]: the routes hostile input is thrown at, and raw bytes sent to them.
//! - [`redis_server`] and [`redis_fleet`]: a real Redis (plain or TLS), replicas sharing it.
//!
//! What most files need is re-exported here (`use crate::helpers::*`); the narrower harnesses
//! are imported by name (`use crate::helpers::login::*`).

mod app;
pub mod binary;
mod checks;
mod child;
pub mod faults;
pub mod grants;
pub mod hostile;
mod instagram;
pub mod limits;
pub mod login;
pub mod meta_store;
pub mod parse;
pub mod redis_fleet;
pub mod redis_server;
pub mod upstream;
pub mod webhooks;

pub use app::*;
pub use checks::*;
pub use child::*;
pub use instagram::*;
