//! Where a login may end: a `return_to` URL the operator allows (`IGAUTH_INSTAGRAM__RETURN_URLS`).
//!
//! Checked when the flow starts and again when it ends, so a signed state can never send anyone
//! elsewhere.

mod strict_url;

pub(crate) use self::strict_url::ReturnToError;
use self::strict_url::StrictUrl;
pub(crate) use self::strict_url::MAX_RETURN_TO;

/// A return target that matches the operator's allow-list (`IGAUTH_INSTAGRAM__RETURN_URLS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReturnTo(String);

impl ReturnTo {
    /// Accepts `candidate` when it has the scheme, host and port of an allowed URL and its path
    /// is that URL's path or lies below it by whole segments (anything below, when the allowed
    /// path ends in `/`); any query may follow. So `https://app.example/login/done` admits
    /// `https://app.example/login/done/x?app_state=1` but never `https://app.example/login/donex`,
    /// `https://app.example.evil.com` or `https://app.example@evil.com`.
    ///
    /// Refused whatever the list says: a fragment, a backslash, `.`, `..` or empty path segments
    /// and `;` in the path (raw or percent-encoded, however often), and a query naming a result
    /// parameter (`id`, `access_token`, ...). A candidate whose scheme, host and port match no
    /// entry is [`ReturnToError::NotAllowed`] before anything else is said about it.
    pub(crate) fn parse(candidate: &str, allowed: &[String]) -> Result<ReturnTo, ReturnToError> {
        let url = match StrictUrl::split(candidate) {
            Ok(url) => url,
            Err(
                e @ (ReturnToError::Missing
                | ReturnToError::TooLong
                | ReturnToError::BadCharacters
                | ReturnToError::BadEscape
                | ReturnToError::Fragment
                | ReturnToError::Backslash),
            ) => return Err(e),
            // No scheme, user@, an odd host: it names no place the operator listed.
            Err(_) => return Err(ReturnToError::NotAllowed),
        };
        let entries: Vec<StrictUrl<'_>> = allowed
            .iter()
            .filter_map(|entry| StrictUrl::entry(entry).ok())
            .filter(|entry| entry.same_origin(&url))
            .collect();
        if entries.is_empty() {
            return Err(ReturnToError::NotAllowed);
        }
        url.check_path_and_query()?;
        if entries.iter().any(|entry| url.path_within(entry)) {
            Ok(ReturnTo(candidate.to_string()))
        } else {
            Err(ReturnToError::NotAllowed)
        }
    }

    /// Checks one entry of `IGAUTH_INSTAGRAM__RETURN_URLS`: a scheme and a host (or a
    /// private-use scheme with a path, `com.example.app:/oauth2redirect`), no fragment, query or
    /// `user@`, and a path that `parse` would accept. The error names the entry and what to do.
    pub(crate) fn check_entry(entry: &str) -> Result<(), String> {
        StrictUrl::entry(entry)
            .map(drop)
            .map_err(|e| format!("the entry {entry:?} {}", e.predicate()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The target with `params` (already `application/x-www-form-urlencoded`) as its fragment,
    /// where they never reach a server or a log. A target never has a fragment of its own.
    pub(crate) fn with_fragment(&self, params: &str) -> String {
        format!("{}#{params}", self.0)
    }
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;
    use ReturnToError::*;

    fn allowed(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn target(url: &str) -> ReturnTo {
        ReturnTo::parse(url, &allowed(&[url])).unwrap()
    }

    fn check(list: &[&str], accepts: &[&str], refuses: &[(&str, ReturnToError)]) {
        let list = allowed(list);
        for ok in accepts {
            assert_eq!(
                ReturnTo::parse(ok, &list).map(|t| t.0),
                Ok(ok.to_string()),
                "{ok}"
            );
        }
        for (bad, why) in refuses {
            assert_eq!(ReturnTo::parse(bad, &list), Err(why.clone()), "{bad}");
        }
    }

    #[test]
    fn return_to_matches_an_origin_and_a_path_by_whole_segments() {
        check(
            &[
                "https://app.example",
                "myapp://auth",
                "https://b.example/cb/",
            ],
            &[
                "https://app.example",
                "https://app.example/",
                "https://app.example/done?x=1",
                "https://app.example?next=1",
                "myapp://auth",
                "myapp://auth/callback",
                "myapp://auth?app_state=abc",
                "https://b.example/cb/",
                "https://b.example/cb/anything",
                // Scheme and host compare case-insensitively; 443 is https's own port.
                "HTTPS://APP.EXAMPLE",
                "https://App.Example:443/done",
                "MyApp://AUTH",
            ],
            &[
                ("https://app.example.evil.com", NotAllowed),
                ("https://app.example@evil.com", NotAllowed),
                ("https://user@app.example/", NotAllowed),
                ("https://app.example:8443", NotAllowed),
                ("https://app.example:80", NotAllowed),
                ("https://app.examplex/", NotAllowed),
                ("http://app.example", NotAllowed),
                ("myapp://authx", NotAllowed),
                ("myapp://auth.evil", NotAllowed),
                ("myapp:/auth", NotAllowed),
                ("https://b.example/cb", NotAllowed),
                ("https://evil.com/https://app.example", NotAllowed),
                ("javascript:alert(1)", NotAllowed),
                ("//app.example/", NotAllowed),
                ("https:app.example", NotAllowed),
                ("https://app.example:0/", NotAllowed),
                ("https://app.example:/", NotAllowed),
                ("https://app%2eexample/", NotAllowed),
            ],
        );
        assert_eq!(
            ReturnTo::parse(
                "https://app.example/\r\nSet-Cookie:x",
                &allowed(&["https://app.example"])
            ),
            Err(BadCharacters)
        );
        assert_eq!(
            ReturnTo::parse("https://app.example/ x", &[]),
            Err(BadCharacters)
        );
        assert_eq!(ReturnTo::parse("", &[]), Err(Missing));
        let long = format!("https://app.example/{}", "a".repeat(MAX_RETURN_TO));
        assert_eq!(
            ReturnTo::parse(&long, &allowed(&["https://app.example"])),
            Err(TooLong)
        );
        assert_eq!(
            ReturnTo::parse("https://app.example", &[]),
            Err(NotAllowed),
            "an empty allow-list admits nothing"
        );
    }

    #[test]
    fn a_path_scoped_entry_admits_only_its_own_subtree() {
        check(
            &["https://app.example/login/done"],
            &[
                "https://app.example/login/done",
                "https://app.example/login/done/",
                "https://app.example/login/done/x",
                "https://app.example/login/done?x=1",
                "https://app.example/login/done/x?next=%2F..%2Fhome",
                "https://app.example/login/done/...x/.a/a./%2e%2ex",
            ],
            &[
                ("https://app.example/login/donex", NotAllowed),
                ("https://app.example/login", NotAllowed),
                ("https://app.example/", NotAllowed),
                ("https://app.example/Login/done", NotAllowed),
                ("https://app.example/login/d%6fne", NotAllowed),
            ],
        );
    }

    #[test]
    fn dot_segments_backslashes_and_path_parameters_are_refused_in_every_spelling() {
        let climb = "https://app.example/login/done";
        let mut refuses = vec![
            (
                "https://app.example/login/done/../../open-redirect?to=x",
                DotSegment,
            ),
            ("https://app.example/login/done/./x", DotSegment),
            ("https://app.example/login/done/.", DotSegment),
            ("https://app.example/login/done/..", DotSegment),
            ("https://app.example/login/done//evil.example", DotSegment),
            (
                "https://app.example/login/done/%2F%2Fevil.example",
                DotSegment,
            ),
            (
                "https://app.example/login/done%2F..%2F..%2Fopen",
                DotSegment,
            ),
            ("https://app.example/login/done;jsessionid=1", PathParameter),
            ("https://app.example/login/done/..;/x", PathParameter),
            ("https://app.example/login/done/%3b", PathParameter),
            ("https://app.example/login/done/%253B", PathParameter),
            ("https://app.example/login/done/\\..\\x", Backslash),
            ("https://app.example/login/done/%5c..%5Cx", Backslash),
            ("https://app.example/login/done/%255c", Backslash),
            ("https://app.example/login/done?x=%5C", Backslash),
            ("https://app.example/login/done/%zz", BadEscape),
            ("https://app.example/login/done/%2", BadEscape),
        ];
        for dots in [
            "%2e%2e",
            "%2E%2E",
            "%2e%2E",
            ".%2e",
            "%2e.",
            "%252e%252e",
            "%25252E.",
            "%2e",
            "%252E",
            "%252e%2E",
        ] {
            let url: &'static str =
                Box::leak(format!("https://app.example/login/done/{dots}/open").into_boxed_str());
            refuses.push((url, DotSegment));
        }
        check(&[climb], &[], &refuses);
        check(
            &["com.example.app:/oauth2redirect"],
            &[],
            &[("com.example.app:/oauth2redirect/%2e%2e/x", DotSegment)],
        );
    }

    #[test]
    fn a_fragment_or_a_result_name_in_the_query_is_refused() {
        check(
            &["https://app.example/done", "myapp://auth"],
            &[
                "https://app.example/done?x=1",
                "https://app.example/done?ids=1&tokens=2&identity=3",
                "myapp://auth?app_state=abc",
                "https://app.example/done?next=%23id%3D1",
            ],
            &[
                (
                    "https://app.example/done#id=666&access_token=IGT-666&",
                    Fragment,
                ),
                ("https://app.example/done#", Fragment),
                ("https://app.example/done#/welcome", Fragment),
                ("https://app.example/done?x=1#", Fragment),
                ("myapp://auth#", Fragment),
                (
                    "https://app.example/done?id=666&access_token=IGT-666",
                    ResultKey("id"),
                ),
                (
                    "https://app.example/done?x=1&access_token=a",
                    ResultKey("access_token"),
                ),
                ("https://app.example/done?x=1;state=a", ResultKey("state")),
                ("myapp://auth?%69d=666", ResultKey("id")),
                ("myapp://auth?ID=666", ResultKey("id")),
                ("myapp://auth?user%255Fid", ResultKey("user_id")),
                ("myapp://auth?expires_in=1", ResultKey("expires_in")),
                ("myapp://auth?username=x", ResultKey("username")),
                ("myapp://auth?error=x", ResultKey("error")),
                (
                    "myapp://auth?error_description=x",
                    ResultKey("error_description"),
                ),
                ("myapp://auth?code=x", ResultKey("code")),
            ],
        );
    }

    #[test]
    fn private_use_schemes_and_ports_and_ipv6_hosts() {
        check(
            &[
                "com.example.app:/oauth2redirect",
                "http://127.0.0.1:8080/v1/demo",
                "http://[::1]:8080/",
                "https://app.example:8443/",
            ],
            &[
                "com.example.app:/oauth2redirect",
                "com.example.app:/oauth2redirect/x?app_state=1",
                "http://127.0.0.1:8080/v1/demo",
                "http://[::1]:8080/cb",
                "https://app.example:08443/",
            ],
            &[
                ("com.example.app:/oauth2redirectx", NotAllowed),
                ("com.example.app:oauth2redirect", NotAllowed),
                ("com.example.app://oauth2redirect", NotAllowed),
                ("com.example.app://evil/oauth2redirect", NotAllowed),
                ("http://127.0.0.1/v1/demo", NotAllowed),
                ("http://127.0.0.1:8080/v1/demox", NotAllowed),
                ("http://[::2]:8080/", NotAllowed),
                ("https://app.example/", NotAllowed),
            ],
        );
    }

    #[test]
    fn entries_need_a_host_or_a_private_use_path_and_nothing_extra() {
        for ok in [
            "https://app.example",
            "https://app.example/login/done",
            "https://app.example/cb/",
            "myapp://auth",
            "com.example.app:/oauth2redirect",
            "http://127.0.0.1:8080/v1/demo",
            "http://[::1]:8080/",
        ] {
            assert_eq!(ReturnTo::check_entry(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("https://", NoHost),
            ("https:///done", NoHost),
            ("https://:443/", NoHost),
            ("https:app.example", NoHost),
            ("http:/app.example/done", NoHost),
            ("myapp:", NoPath),
            ("com.example.app:/", NoPath),
            ("com.example.app:oauth2redirect", NoPath),
            ("app.example/done", NoScheme),
            ("//app.example", NoScheme),
            ("javascript:/x/", UnsafeScheme),
            ("Data:/x", UnsafeScheme),
            ("https://app.example/done#", Fragment),
            ("https://app.example/#/login", Fragment),
            ("https://user@app.example", Userinfo),
            ("https://app.example/login/../admin", DotSegment),
            ("https://app.example/login/%2E%2E/admin", DotSegment),
            ("https://app.example/a;b", PathParameter),
            ("https://app.example\\evil.example", Backslash),
            ("https://app.example/done?x=1", EntryQuery),
            ("https://app.example:99999", BadHost),
            ("https://app.exa%6dple", BadHost),
            ("https://[::1", BadHost),
        ] {
            assert_eq!(StrictUrl::entry(bad), Err(why), "{bad}");
            let message = ReturnTo::check_entry(bad).unwrap_err();
            assert!(
                message.starts_with(&format!("the entry {bad:?} ")),
                "{message}"
            );
        }
        // A refused entry admits nothing, not even itself.
        for bad in ["https://", "https://app.example/done#", "javascript:/x/"] {
            assert!(ReturnTo::parse("https://app.example/done", &allowed(&[bad])).is_err());
        }
    }

    #[test]
    fn messages_say_what_to_do() {
        assert_eq!(Missing.to_string(), "return_to is required");
        assert!(Fragment.to_string().starts_with("return_to has a fragment"));
        assert!(NoHost
            .predicate()
            .contains("com.example.app:/oauth2redirect"));
        assert_eq!(
            NotAllowed.to_string(),
            "return_to does not match any URL in IGAUTH_INSTAGRAM__RETURN_URLS"
        );
    }

    #[test]
    fn the_result_is_the_whole_fragment() {
        assert_eq!(
            target("myapp://auth").with_fragment("a=1"),
            "myapp://auth#a=1"
        );
        assert_eq!(
            ReturnTo::parse(
                "https://a.example/done?x=1",
                &allowed(&["https://a.example"])
            )
            .unwrap()
            .with_fragment("a=1&b=2"),
            "https://a.example/done?x=1#a=1&b=2"
        );
    }
}
