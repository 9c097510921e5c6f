//! The one harness every API test stands on; no test file imports another.
//!
//! - [`app`]: the real app on port 0 with a mockito Instagram (`spawn_app`), `TestApp`, `Answer`.
//! - [`instagram`]: Instagram's answers and `/me` mocks, and checking mocks got their calls.
//! - [`upstream`]: a raw TCP Instagram for resets, hangs, late and cut-off answers.
//! - [`child`]: the real binary as a child process (`ChildApp`).
//! - [`login`]: the login flow's harness: a browser, a login's steps, signed states.
//! - [`parse`]: Parse Server played by mockito, and Meta's signed requests.
//! - [`redis_server`] and [`redis_fleet`]: a real Redis (plain or TLS), replicas sharing it.
//!
//! What most files need is re-exported here (`use crate::helpers::*`); the narrower harnesses
//! are imported by name (`use crate::helpers::login::*`).

mod app;
mod child;
mod instagram;
pub mod login;
pub mod parse;
pub mod redis_fleet;
pub mod redis_server;
pub mod upstream;

pub use app::*;
pub use child::*;
pub use instagram::*;
