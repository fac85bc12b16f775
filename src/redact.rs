//! Secrets never reach the terminal: the two types every shown URL and every echoed server body
//! goes through.
//!
//! * [`RedactedUrl`] holds only the redacted text of a URL (a password in it is `***`), so it
//!   cannot print the secret whatever format is used (`{}`, `{:?}`, `to_string`). Every URL shown
//!   to a person (messages, warnings, `-v` logs, `ui --print`, `kfpx config`) is one.
//! * [`Scrubber`] knows the credentials kfpx sent (the sensitive header values of the request and
//!   the URL password) and replaces them with `***` wherever they appear in a server's answer
//!   before any of it is shown (a 401 body that echoes the token, a proxy page with the cookie).

use std::fmt;

use url::Url;

/// What a secret is shown as.
pub const MASK: &str = "***";

/// A URL as it may be shown: the password of its user info replaced by `***` (the user name is
/// kept so the user recognises the URL). Built from a parsed [`Url`] or from raw text as the
/// user wrote it (even text that is not a valid URL: `alice:pw@host:99999`, a host without a
/// scheme). Only the redacted text is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct RedactedUrl(String);

impl RedactedUrl {
    /// Redact raw text. The user info is everything before the first `@` of the authority
    /// (after `scheme://` when there is one); a password in it may itself contain `/`, so the
    /// first `@` is used and a rare path with `@` is over-redacted, never a secret shown.
    pub fn new(raw: &str) -> RedactedUrl {
        RedactedUrl(redact_userinfo(raw))
    }

    /// The same URL without any user info at all (for links to open in a browser, which drop
    /// user info anyway).
    pub fn without_userinfo(u: &Url) -> RedactedUrl {
        let mut u = u.clone();
        let _ = u.set_password(None);
        let _ = u.set_username("");
        RedactedUrl::from(&u)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&Url> for RedactedUrl {
    fn from(u: &Url) -> RedactedUrl {
        if u.password().is_none() {
            return RedactedUrl(u.to_string());
        }
        let mut shown = u.clone();
        let _ = shown.set_password(Some(MASK));
        RedactedUrl(shown.to_string())
    }
}

impl fmt::Display for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RedactedUrl {
    /// Quoted, as a string's `Debug` (so `{url:?}` in a message reads `"https://…"`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

impl serde::Serialize for RedactedUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

fn redact_userinfo(raw: &str) -> String {
    let start = raw.find("://").map_or(0, |i| i + 3);
    let rest = &raw[start..];
    let Some(at) = rest.find('@') else {
        return raw.to_string();
    };
    let userinfo = &rest[..at];
    match userinfo.find(':') {
        Some(colon) => format!(
            "{}{}:{MASK}{}",
            &raw[..start],
            &userinfo[..colon],
            &rest[at..]
        ),
        None => raw.to_string(),
    }
}

/// Every URL-with-password in free text (`scheme://user:secret@host…`) redacted, e.g. in a
/// transport error's detail.
pub fn redact_urls_in(text: &str) -> String {
    if !text.contains('@') {
        return text.to_string();
    }
    text.split(' ')
        .map(|word| {
            if word.contains("://") && word.contains('@') {
                redact_userinfo(word)
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The credentials sent with a request, to be removed from whatever the server answers.
#[derive(Clone, Default)]
pub struct Scrubber {
    /// Longest first, so a whole header value goes before its parts.
    secrets: Vec<String>,
}

/// Shorter pieces are not treated as secrets of their own (a cookie value `1`); the whole
/// header value always is.
const MIN_PIECE: usize = 4;

impl Scrubber {
    /// From the sensitive headers of a request (kfpx marks every credential header sensitive:
    /// `Authorization`, `Cookie`, a custom auth header) and the password of its URL.
    pub fn from_request(req: &reqwest::Request) -> Scrubber {
        let mut s = Scrubber::default();
        for (name, value) in req.headers() {
            let sensitive = value.is_sensitive()
                || name == reqwest::header::AUTHORIZATION
                || name == reqwest::header::COOKIE
                || name == reqwest::header::PROXY_AUTHORIZATION;
            if !sensitive {
                continue;
            }
            if let Ok(v) = value.to_str() {
                s.add_header_value(v);
            }
        }
        if let Some(pw) = req.url().password() {
            s.add(pw);
            if let Ok(decoded) = percent_decode(pw) {
                s.add(&decoded);
            }
        }
        s.secrets.sort_by_key(|x| std::cmp::Reverse(x.len()));
        s.secrets.dedup();
        s
    }

    /// A header value and its parts: `Bearer <token>` → the token; `Basic <b64>` → the
    /// password in it (reqwest sends a URL's user info so); `a=b; c=d` → `b`, `d`.
    fn add_header_value(&mut self, v: &str) {
        self.add(v);
        match v.split_once(' ') {
            Some((scheme, token)) if !scheme.contains('=') => {
                let token = token.trim();
                self.add(token);
                if scheme.eq_ignore_ascii_case("basic") {
                    use base64::Engine;
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(token)
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok());
                    if let Some((_, pw)) = decoded.as_deref().and_then(|d| d.split_once(':')) {
                        self.add(pw);
                    }
                }
                return;
            }
            _ => {}
        }
        for pair in v.split(';') {
            if let Some((_, value)) = pair.split_once('=') {
                self.add(value.trim());
            }
        }
    }

    fn add(&mut self, piece: &str) {
        if piece.len() >= MIN_PIECE || (!piece.is_empty() && self.secrets.is_empty()) {
            self.secrets.push(piece.to_string());
        }
    }

    /// `text` with every credential replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        out
    }
}

fn percent_decode(s: &str) -> Result<String, std::string::FromUtf8Error> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_raw_urls_are_masked_whatever_the_format() {
        for (raw, shown) in [
            (
                "https://alice:S3CRET@host/pipeline",
                "https://alice:***@host/pipeline",
            ),
            // Not valid URLs: a bad port, no scheme, a `/` in the password.
            (
                "https://alice:S3CRET@host:99999/x",
                "https://alice:***@host:99999/x",
            ),
            ("alice:S3CRET@host/pipeline", "alice:***@host/pipeline"),
            ("ftp://a:S3/CRET@h", "ftp://a:***@h"),
            ("https://host/pipeline", "https://host/pipeline"),
            ("https://alice@host/", "https://alice@host/"),
        ] {
            let r = RedactedUrl::new(raw);
            assert_eq!(r.to_string(), shown);
            assert_eq!(format!("{r:?}"), format!("{shown:?}"));
            assert!(!format!("{r}{r:?}").contains("S3CRET"));
        }
    }

    #[test]
    fn parsed_urls_are_masked_or_stripped() {
        let u = Url::parse("https://me:pa55word@kf.example.com/pipeline").unwrap();
        assert_eq!(
            RedactedUrl::from(&u).as_str(),
            "https://me:***@kf.example.com/pipeline"
        );
        assert_eq!(
            RedactedUrl::without_userinfo(&u).as_str(),
            "https://kf.example.com/pipeline"
        );
    }

    #[test]
    fn urls_in_text_are_masked() {
        assert_eq!(
            redact_urls_in("error sending request for url (http://u:pw@h:1/a): refused"),
            "error sending request for url (http://u:***@h:1/a): refused"
        );
    }

    #[test]
    fn sent_credentials_are_scrubbed_from_answers() {
        let http = reqwest::Client::new();
        let mut bearer = reqwest::header::HeaderValue::from_static("Bearer tok-123456");
        bearer.set_sensitive(true);
        let req = http
            .get("http://u:p%40ss@h/x")
            .header(reqwest::header::AUTHORIZATION, bearer)
            .header(reqwest::header::COOKIE, "session=abcdef; other=xyz12")
            .header("x-token", {
                let mut v = reqwest::header::HeaderValue::from_static("Token padded==");
                v.set_sensitive(true);
                v
            })
            .build()
            .unwrap();
        let s = Scrubber::from_request(&req);
        assert_eq!(
            s.scrub("bad token tok-123456 (header Bearer tok-123456), cookie session=abcdef, other=xyz12, pw p@ss, padded=="),
            "bad token *** (header ***), cookie session=***, other=***, pw ***, ***"
        );
    }
}
