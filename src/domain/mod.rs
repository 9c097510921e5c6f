//! The rules of the input, as types. Anything that holds one of these has already been checked:
//! an [`IgId`] is only decimal digits, an [`AccessToken`] or [`AuthCode`] is a bounded printable
//! string that redacts itself when printed, a [`ReturnTo`] is on the operator's allow-list, and a
//! [`Verdict`] is what Instagram said about a token, never a guess. No I/O happens here.

mod auth_data;
mod deletion;
mod handoff;
mod ig_id;
pub(crate) mod login_state;
pub(crate) mod pkce;
mod proxy_range;
mod return_to;
mod row_mac;
mod secrets;
mod signed_request;
mod verdict;

// Public: what tests need to craft input (a return target, a signed state, a secret).
pub(crate) use return_to::{ReturnTo, ReturnToError};
pub(crate) use secrets::Secret;

pub(crate) use auth_data::AuthData;
pub(crate) use deletion::{iso8601, DeletionRecord, DeletionStatus, Pending, RequestKind};
pub(crate) use handoff::{Handoff, HandoffCode, HANDOFF_TTL};
pub(crate) use ig_id::IgId;
pub(crate) use proxy_range::ProxyRange;
pub(crate) use row_mac::RowMac;
pub(crate) use secrets::{AccessToken, AuthCode, TokenKey};
pub(crate) use signed_request::{
    ConfirmationCode, SignedRequest, SignedRequestError, MAX_SKEW_SECS,
};
pub(crate) use verdict::{Lookup, RejectReason, TokenOwner, Verdict};
