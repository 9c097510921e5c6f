//! A signed request's record: which callback handled it, what was asked, what was done and when.
//! Its stored form is JSON text (kept in Parse, in Redis sealed, or in memory); a data deletion's
//! is what the status page and its JSON show, and a deauthorization's only says it was handled,
//! until the request could no longer be fresh. It holds no token. While a deletion is still being
//! carried out it holds the Instagram id it is for and the Parse users found (so igauth's retry
//! can finish it); once settled, only the code, the outcome, counts and times remain, so the
//! record of a deletion is not itself personal data.

use serde::{Deserialize, Serialize};

use super::ConfirmationCode;

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DeletionStatus {
    /// Verified and recorded; the work is under way, or waiting for igauth's next retry.
    Received,
    /// Everything configured was done.
    Completed,
    /// No Parse user has this Instagram id (or igauth keeps no users at all).
    NoData,
    /// Still failing a day after it was received: igauth stopped retrying (an ERROR line says
    /// why). Records from earlier versions may also say this.
    Failed,
}

impl DeletionStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DeletionStatus::Received => "received",
            DeletionStatus::Completed => "completed",
            DeletionStatus::NoData => "no_data",
            DeletionStatus::Failed => "failed",
        }
    }

    /// Whether the request is settled: a replay answers it again instead of redoing it.
    pub(crate) fn is_final(self) -> bool {
        matches!(self, DeletionStatus::Completed | DeletionStatus::NoData)
    }
}

/// Which of Meta's callbacks handled a signed request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RequestKind {
    #[default]
    DataDeletion,
    Deauthorize,
}

/// What a deletion still to be finished needs: whom it is for, and when igauth tries again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pending {
    /// The Instagram id Meta named (digits only; dropped once the request is settled).
    pub(crate) instagram_id: String,
    /// Runs that did not finish so far.
    pub(crate) attempts: u32,
    /// Milliseconds since the epoch when the next run may start.
    pub(crate) next_at_ms: u64,
}

/// One signed request, as stored and (for a deletion) shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeletionRecord {
    pub(crate) confirmation_code: String,
    /// Records from before deauthorizations were kept are all deletions.
    #[serde(default)]
    pub(crate) kind: RequestKind,
    pub(crate) status: DeletionStatus,
    /// Milliseconds since the epoch.
    pub(crate) requested_at_ms: u64,
    pub(crate) completed_at_ms: Option<u64>,
    /// Parse users found under the Instagram id.
    pub(crate) users: usize,
    /// What was configured to be done to them (`delete_user`, `unlink`, `none`).
    pub(crate) action: String,
    /// Whether the operator's Cloud function ran successfully.
    pub(crate) function_called: bool,
    /// What happened, in words for the person (never Parse's text, never operator advice).
    pub(crate) message: String,
    /// Set while a deletion is still to be finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pending: Option<Pending>,
    /// The Parse users (objectIds) this request acts on, recorded before acting, so a run after
    /// a partial one still acts on (and counts) users an earlier run already deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) targets: Vec<String>,
    /// Milliseconds since the epoch after which the record may be forgotten (deauthorizations:
    /// when the request can no longer be fresh); `None` keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) expires_at_ms: Option<u64>,
}

impl DeletionRecord {
    pub(crate) fn received(code: &ConfirmationCode, now_ms: u64, action: &str) -> DeletionRecord {
        DeletionRecord {
            confirmation_code: code.as_str().to_string(),
            kind: RequestKind::DataDeletion,
            pending: None,
            targets: Vec::new(),
            expires_at_ms: None,
            status: DeletionStatus::Received,
            requested_at_ms: now_ms,
            completed_at_ms: None,
            users: 0,
            action: action.to_string(),
            function_called: false,
            message: "Your request was received and is being carried out.".into(),
        }
    }

    /// The stored form.
    pub(crate) fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A stored record for `code`; `None` for anything else (another code's record included).
    pub(crate) fn decode(text: &str, code: &ConfirmationCode) -> Option<DeletionRecord> {
        serde_json::from_str::<DeletionRecord>(text)
            .ok()
            .filter(|r| r.confirmation_code == code.as_str())
    }
}

/// `2026-01-31T12:34:56Z` for milliseconds since the epoch (UTC, whole seconds).
pub(crate) fn iso8601(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's days-to-civil, for days since 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_iso_8601_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_732_000_000_999), "2024-11-19T07:06:40Z");
        assert_eq!(iso8601(4_102_444_799_000), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn records_round_trip_only_under_their_code() {
        let code = ConfirmationCode::parse("0123456789abcdef012345670123456789abcdef").unwrap();
        let other = ConfirmationCode::parse("0123456789abcdef012345680123456789abcdef").unwrap();
        let mut record = DeletionRecord::received(&code, 5, "delete_user");
        record.status = DeletionStatus::Completed;
        record.users = 2;
        let stored = record.encode();
        assert_eq!(DeletionRecord::decode(&stored, &code), Some(record));
        assert_eq!(DeletionRecord::decode(&stored, &other), None);
        assert_eq!(DeletionRecord::decode("{}", &code), None);
        assert!(stored.contains(r#""status":"completed""#), "{stored}");
        assert!(
            !stored.contains("pending") && !stored.contains("targets"),
            "{stored}"
        );
        // A record written before `kind` existed is a deletion's.
        let old = stored.replace(r#""kind":"data_deletion","#, "");
        assert_ne!(old, stored);
        assert_eq!(
            DeletionRecord::decode(&old, &code).map(|r| r.kind),
            Some(RequestKind::DataDeletion)
        );
    }
}
