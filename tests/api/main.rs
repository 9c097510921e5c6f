//! Integration tests: the real app on a random port, with mockito playing Instagram.
//! One module per API surface or concern.

// The whole crate is test code (helpers included): a failed unwrap is a failed assertion.
#![allow(clippy::unwrap_used)]

mod helpers;

mod body_limits;
mod boundary_warnings;
mod breaker;
mod cache;
mod commands;
mod cors;
mod deletion_round_trips;
mod diagnostics;
mod exchange;
mod hostile_input;
mod input_limits;
mod introspect;
mod login;
mod logs;
mod long_lived;
mod meta_callbacks;
mod meta_fresh_once;
mod meta_retries;
mod metrics;
mod operations;
mod parse_functions;
mod parse_triggers;
mod rate_limits;
mod redis_trust;
mod refusal_logs;
mod resilience;
mod retries;
mod return_to;
mod security_headers;
mod sessions;
mod shared_cache;
mod shared_login_states;
mod shared_throttle_pause;
mod shutdown;
mod slow_bodies;
mod throttle_pause;
mod unread_bodies;
mod user_id_claims;
mod validate;
