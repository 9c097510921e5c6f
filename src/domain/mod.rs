//! The rules of the input, as types. Anything that holds one of these has already been checked:
//! an [`IgId`] is only decimal digits, an [`AccessToken`] or [`AuthCode`] is a bounded printable
//! string that redacts itself when printed, and a [`Verdict`] is what Instagram said about a token,
//! never a guess.

mod auth_data;
mod ig_id;
// Login flow (issue 7): signed, expiring, single-use `state` and the return_to allow-list.
pub mod login_state;
mod secrets;
mod verdict;

pub use auth_data::{AuthData, AuthDataError};
pub use ig_id::IgId;
pub use login_state::{LoginStates, ReturnTo, ReturnToError, StateError};
pub use secrets::{AccessToken, AuthCode, SecretError};
pub use verdict::{Lookup, RejectReason, TokenOwner, Verdict};
