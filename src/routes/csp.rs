//! What the pages igauth serves (`/v1/demo`, the data-deletion status page) share: each runs
//! under its own strict Content-Security-Policy that allows its inline blocks by hash only.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// `'sha256-<base64>'` of the text between the first `open` and the `close` after it, as CSP
/// hashes inline elements; `'none'` when the page has no such block.
pub(crate) fn inline_hash(html: &str, open: &str, close: &str) -> String {
    let Some(start) = html.find(open).map(|i| i + open.len()) else {
        return "'none'".into();
    };
    let Some(len) = html[start..].find(close) else {
        return "'none'".into();
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, &html.as_bytes()[start..start + len]);
    // CSP wants standard base64 with padding.
    format!("'sha256-{}'", STANDARD.encode(digest.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_hashes_use_standard_base64() {
        // printf 'alert(1)' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            inline_hash("<script>alert(1)</script>", "<script>", "</script>"),
            "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"
        );
        assert_eq!(inline_hash("<p>", "<script>", "</script>"), "'none'");
    }
}
