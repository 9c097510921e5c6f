//! The rules of the input, as types. Anything that holds one of these has already been checked:
//! an [`IgId`] is only decimal digits, an [`AccessToken`] or [`AuthCode`] is a bounded printable
//! string that redacts itself when printed, and a [`Verdict`] is what Instagram said about a token,
//! never a guess.

mod auth_data;
mod ig_id;
mod secrets;
mod verdict;

pub use auth_data::{AuthData, AuthDataError};
pub use ig_id::IgId;
pub use secrets::{AccessToken, AuthCode, SecretError};
pub use verdict::{Lookup, RejectReason, TokenOwner, Verdict};
