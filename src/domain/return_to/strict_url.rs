//! The one reading of a URL that `return_to` and the entries of `IGAUTH_INSTAGRAM__RETURN_URLS`
//! share: `scheme ":" ["//" host [":" port]] path ["?" query]`, printable ASCII only.
//!
//! Whatever a browser or a server might read in more than one way is refused, never
//! interpreted: a fragment, a backslash, `user@`, `.`, `..` or empty path segments, and path
//! parameters (`;`), each also when percent-encoded, once or many times over.

use std::fmt;

/// Longest `return_to` accepted; the state travels in URLs through Instagram.
pub(crate) const MAX_RETURN_TO: usize = 1024;

/// The names igauth writes into the fragment. A query that already carries one could be read as
/// the result by an app that merges query and fragment.
const RESULT_KEYS: [&str; 9] = [
    "id",
    "access_token",
    "expires_in",
    "username",
    "user_id",
    "error",
    "error_description",
    "state",
    "code",
];

/// Schemes whose URLs run or embed content instead of naming a place.
const UNSAFE_SCHEMES: [&str; 6] = ["javascript", "data", "vbscript", "blob", "file", "about"];

/// Schemes browsers always read with a host, even when `//` is missing (`https:evil.example`).
const NEED_HOST: [&str; 5] = ["http", "https", "ws", "wss", "ftp"];

/// Why a `return_to` (or an entry of the allow-list) was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReturnToError {
    Missing,
    TooLong,
    /// Spaces, control characters or non-ASCII: not a URL we would put in a `Location` header.
    BadCharacters,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// Any `#`: the result goes in the fragment, and a planted one would be read first.
    Fragment,
    /// `\` (or `%5C`): browsers read it as `/` in some places and not in others.
    Backslash,
    NoScheme,
    UnsafeScheme,
    /// `https:` without `//host`, or an empty host.
    NoHost,
    /// A private-use URI (no host) without a path: it would admit the whole scheme.
    NoPath,
    /// `user@host`.
    Userinfo,
    /// A host or port a browser might read differently.
    BadHost,
    /// A `.`, `..` or empty path segment, raw or percent-encoded.
    DotSegment,
    /// `;` in the path.
    PathParameter,
    /// A query name the result uses.
    ResultKey(&'static str),
    /// An allow-list entry with a query.
    EntryQuery,
    /// Well formed, but at or below no entry of the allow-list.
    NotAllowed,
}

impl ReturnToError {
    /// What is wrong and what to do, after a subject ("return_to", "the entry ...").
    pub(super) fn predicate(&self) -> String {
        use ReturnToError::*;
        match self {
            Missing => "is empty".into(),
            TooLong => format!("is longer than {MAX_RETURN_TO} characters"),
            BadCharacters => "must be a URL of printable ASCII without spaces (percent-encode \
                the rest)"
                .into(),
            BadEscape => "has a % that is not followed by two hex digits; write a literal % \
                as %25"
                .into(),
            Fragment => "has a fragment (#...); leave it off: igauth writes the login result \
                into the fragment, and one of your own would be read before it"
                .into(),
            Backslash => {
                "contains a backslash (\\ or %5C, also encoded twice); use / instead".into()
            }
            NoScheme => "does not start with a scheme; write a full URL such as \
                https://app.example/login/done or myapp://auth"
                .into(),
            UnsafeScheme => "uses a scheme that runs or embeds content (javascript:, data:, \
                vbscript:, blob:, file:, about:); use an https URL or your app's own scheme"
                .into(),
            NoHost => {
                "has no host; write scheme://host[/path] (https://app.example/login/done, \
                myapp://auth) or a private-use scheme with a path (com.example.app:/oauth2redirect)"
                    .into()
            }
            NoPath => "has neither a host nor a path; a private-use URI needs a path, like \
                com.example.app:/oauth2redirect"
                .into(),
            Userinfo => "names a user before the host (user@host); remove everything up to \
                the @"
                .into(),
            BadHost => "has a host or port that is not plain: use letters, digits, '-', '_' \
                and '.' (or [an IPv6 address]) and a port from 1 to 65535"
                .into(),
            DotSegment => "has an empty, '.' or '..' path segment (also percent-encoded, as \
                %2e or %252e); write the path without them"
                .into(),
            PathParameter => "has a ';' in its path (also %3B); put that value in the query \
                instead"
                .into(),
            ResultKey(key) => format!(
                "has {key:?} in its query, a name igauth uses for the login result; give your \
                 parameter another name (app_state, for instance)"
            ),
            EntryQuery => "has a query (?...); list the URL without it: any query may follow \
                an allowed URL"
                .into(),
            NotAllowed => "does not match any URL in IGAUTH_INSTAGRAM__RETURN_URLS".into(),
        }
    }
}

impl fmt::Display for ReturnToError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReturnToError::Missing => f.write_str("return_to is required"),
            e => write!(f, "return_to {}", e.predicate()),
        }
    }
}

/// A URL split at its joints; every part is a slice of the checked text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct StrictUrl<'a> {
    pub(super) scheme: &'a str,
    pub(super) host: Option<&'a str>,
    pub(super) port: Option<u16>,
    /// Empty, or starting with `/` when there is a host.
    pub(super) path: &'a str,
    pub(super) query: Option<&'a str>,
}

impl<'a> StrictUrl<'a> {
    /// Checks the text as a whole, then splits it. Says nothing yet about path or query.
    pub(super) fn split(text: &'a str) -> Result<StrictUrl<'a>, ReturnToError> {
        check_text(text)?;
        let (scheme, rest) = text.split_once(':').ok_or(ReturnToError::NoScheme)?;
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
        if !scheme_ok {
            return Err(ReturnToError::NoScheme);
        }
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query)),
            None => (rest, None),
        };
        let (authority, path) = match rest.strip_prefix("//") {
            Some(after) => {
                let end = after.find('/').unwrap_or(after.len());
                (Some(&after[..end]), &after[end..])
            }
            None => (None, rest),
        };
        let (host, port) = match authority {
            Some(authority) => {
                let (host, port) = split_authority(authority)?;
                (Some(host), port)
            }
            None => (None, None),
        };
        Ok(StrictUrl {
            scheme,
            host,
            port,
            path,
            query,
        })
    }

    /// An entry of the allow-list: a place, with a host (or a private-use scheme and a path),
    /// and nothing a target could not carry.
    pub(super) fn entry(text: &'a str) -> Result<StrictUrl<'a>, ReturnToError> {
        let url = StrictUrl::split(text)?;
        let scheme = url.scheme.to_ascii_lowercase();
        if UNSAFE_SCHEMES.contains(&scheme.as_str()) {
            return Err(ReturnToError::UnsafeScheme);
        }
        if url.host.is_none() {
            if NEED_HOST.contains(&scheme.as_str()) {
                return Err(ReturnToError::NoHost);
            }
            if !url.path.starts_with('/') || url.path.len() < 2 {
                return Err(ReturnToError::NoPath);
            }
        }
        url.check_path_and_query()?;
        if url.query.is_some() {
            return Err(ReturnToError::EntryQuery);
        }
        Ok(url)
    }

    /// No dot-segments, empty segments or `;` in the path, and no result name in the query.
    pub(super) fn check_path_and_query(&self) -> Result<(), ReturnToError> {
        let path = decode_fully(self.path.as_bytes());
        if path.contains(&b';') {
            return Err(ReturnToError::PathParameter);
        }
        let segments: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
        let last = segments.len() - 1;
        for (i, segment) in segments.iter().enumerate() {
            // A leading `/` leaves an empty first segment and a trailing one an empty last one.
            let empty_inside = segment.is_empty() && i != 0 && i != last;
            if empty_inside || *segment == b"." || *segment == b".." {
                return Err(ReturnToError::DotSegment);
            }
        }
        for pair in self.query.unwrap_or("").split(['&', ';']) {
            let name = pair.split('=').next().unwrap_or("").replace('+', " ");
            let name = decode_fully(name.as_bytes()).to_ascii_lowercase();
            if let Some(key) = RESULT_KEYS.iter().find(|k| k.as_bytes() == name) {
                return Err(ReturnToError::ResultKey(key));
            }
        }
        Ok(())
    }

    /// Same scheme, host and port; scheme and host compare case-insensitively, and a port equal
    /// to the scheme's default (80 for http and ws, 443 for https and wss) equals none.
    pub(super) fn same_origin(&self, other: &StrictUrl<'_>) -> bool {
        self.scheme.eq_ignore_ascii_case(other.scheme)
            && match (self.host, other.host) {
                (None, None) => true,
                (Some(a), Some(b)) => {
                    a.eq_ignore_ascii_case(b) && self.effective_port() == other.effective_port()
                }
                _ => false,
            }
    }

    fn effective_port(&self) -> Option<u16> {
        self.port
            .or(match self.scheme.to_ascii_lowercase().as_str() {
                "http" | "ws" => Some(80),
                "https" | "wss" => Some(443),
                _ => None,
            })
    }

    /// At or below `base`'s path by whole segments, byte for byte: `/login/done` admits itself
    /// and `/login/done/x`, never `/login/donex`; a base ending in `/` admits all below it.
    /// With a host, an empty path is `/`.
    pub(super) fn path_within(&self, base: &StrictUrl<'_>) -> bool {
        let (path, base) = (rooted(self.path), rooted(base.path));
        path == base
            || (base.ends_with('/') && path.starts_with(base))
            || path
                .strip_prefix(base)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

fn rooted(path: &str) -> &str {
    if path.is_empty() {
        "/"
    } else {
        path
    }
}

/// Length, characters, fragment, escapes and backslashes: what the whole text must satisfy.
fn check_text(text: &str) -> Result<(), ReturnToError> {
    if text.is_empty() {
        return Err(ReturnToError::Missing);
    }
    if text.len() > MAX_RETURN_TO {
        return Err(ReturnToError::TooLong);
    }
    if !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ReturnToError::BadCharacters);
    }
    if text.contains('#') {
        return Err(ReturnToError::Fragment);
    }
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices('%') {
        let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
        if !(hex(i + 1) && hex(i + 2)) {
            return Err(ReturnToError::BadEscape);
        }
    }
    if decode_fully(bytes).contains(&b'\\') {
        return Err(ReturnToError::Backslash);
    }
    Ok(())
}

/// `user@` is refused, then `host[:port]` or `[IPv6][:port]`.
fn split_authority(authority: &str) -> Result<(&str, Option<u16>), ReturnToError> {
    if authority.contains('@') {
        return Err(ReturnToError::Userinfo);
    }
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']').ok_or(ReturnToError::BadHost)?;
        let inside = &authority[1..end];
        if inside.is_empty()
            || !inside
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b":.".contains(&b))
        {
            return Err(ReturnToError::BadHost);
        }
        let after = &authority[end + 1..];
        if !(after.is_empty() || after.starts_with(':')) {
            return Err(ReturnToError::BadHost);
        }
        (&authority[..=end], after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(ReturnToError::NoHost);
    }
    if !host.starts_with('[')
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
    {
        return Err(ReturnToError::BadHost);
    }
    let port = match port {
        None => None,
        Some(digits) => {
            let number =
                (1..=5).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
            match digits.parse::<u16>() {
                Ok(port) if number && port != 0 => Some(port),
                _ => return Err(ReturnToError::BadHost),
            }
        }
    };
    Ok((host, port))
}

/// Percent-decodes until nothing changes, so `%252e` ends as `.`. Malformed escapes stay as they
/// are. Ends: every round that changes something makes the text shorter.
pub(super) fn decode_fully(bytes: &[u8]) -> Vec<u8> {
    let mut text = bytes.to_vec();
    loop {
        let mut out = Vec::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            let escape = (text[i] == b'%')
                .then(|| Some((hex_value(*text.get(i + 1)?)?, hex_value(*text.get(i + 2)?)?)))
                .flatten();
            match escape {
                Some((high, low)) => {
                    out.push(high << 4 | low);
                    i += 3;
                }
                None => {
                    out.push(text[i]);
                    i += 1;
                }
            }
        }
        if out.len() == text.len() {
            return out;
        }
        text = out;
    }
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}
