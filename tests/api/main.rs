//! Integration tests: the real app on a random port, with mockito playing Instagram.
//! One module per API surface or concern.

// The whole crate is test code (helpers included): a failed unwrap is a failed assertion.
#![allow(clippy::unwrap_used)]

mod helpers;

mod cache;
mod exchange;
mod hostile_input;
mod introspect;
mod limits;
mod login;
mod logs;
mod long_lived;
mod meta_callbacks;
mod metrics;
mod operations;
mod parse_hooks;
mod redis_fleet;
mod redis_trust;
mod refusal_logs;
mod resilience;
mod return_to;
mod shared_cache;
mod shutdown;
mod slow_bodies;
mod throttle_pause;
mod unread_bodies;
mod user_id_claims;
mod validate;
