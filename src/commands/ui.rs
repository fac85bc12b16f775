//! `kfpx ui [--print]`: open the Kubeflow Pipelines UI in a browser.
//!
//! The URL is `KF_PIPELINES_UI_ENDPOINT` when set, else the config's `host`. Where no browser
//! can be started (no desktop session, no opener installed), the URL is printed instead and the
//! command still succeeds.

use crate::cli::UiArgs;
use crate::commands::Ctx;
use crate::error::{Error, Result};
use crate::output;
use crate::redact::RedactedUrl;

/// Environment variable with the UI's URL when it differs from the API host.
pub const UI_ENDPOINT_VAR: &str = "KF_PIPELINES_UI_ENDPOINT";

pub fn run(ctx: &Ctx, args: UiArgs) -> Result<()> {
    let url = ui_url(ctx)?;
    if args.print {
        return output::print_stdout(&url);
    }
    if let Some(why) = no_browser_reason() {
        output::status(format!("{why}: open {url} yourself"));
        return output::print_stdout(&url);
    }
    match open::that_detached(&url) {
        Ok(()) => {
            output::status(format!("Opened {url} in your browser"));
            Ok(())
        }
        Err(e) => {
            output::warn(format!(
                "could not start a browser ({e}): open {url} yourself"
            ));
            output::print_stdout(&url)
        }
    }
}

/// `KF_PIPELINES_UI_ENDPOINT`, else the configured host; must be an http(s) URL.
fn ui_url(ctx: &Ctx) -> Result<String> {
    let (url, source) = match std::env::var(UI_ENDPOINT_VAR) {
        Ok(v) if !v.trim().is_empty() => (v.trim().to_string(), UI_ENDPOINT_VAR.to_string()),
        _ => {
            let project = ctx.project()?;
            let loaded = crate::config::load(&project)?;
            let source = loaded
                .files
                .first()
                .map(|f| format!("host in {}", f.display()))
                .unwrap_or_else(|| "host in the config".into());
            (loaded.config.host, source)
        }
    };
    check_url(&url, &source)
}

/// The URL to open or print: http(s), without user info (a browser drops it, and it may hold
/// a password).
fn check_url(url: &str, source: &str) -> Result<String> {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            if u.username().is_empty() && u.password().is_none() {
                Ok(url.to_string())
            } else {
                Ok(RedactedUrl::without_userinfo(&u).to_string())
            }
        }
        _ => Err(Error::Message(format!(
            "{source} is not an http(s) URL: {:?}; set it to e.g. \
             https://kubeflow.example.com/pipeline",
            RedactedUrl::new(url)
        ))),
    }
}

/// On Linux and the BSDs a graphical session is needed; without one, openers fall back to
/// text browsers that would take over the terminal.
fn no_browser_reason() -> Option<&'static str> {
    if cfg!(any(target_os = "macos", windows)) {
        return None;
    }
    let set = |v: &str| std::env::var_os(v).is_some_and(|x| !x.is_empty());
    if set("DISPLAY") || set("WAYLAND_DISPLAY") || set("BROWSER") {
        None
    } else {
        Some("no graphical session (DISPLAY, WAYLAND_DISPLAY and BROWSER are unset)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_urls_must_be_http() {
        assert_eq!(
            check_url("https://u:pw@kf.example.com/pipeline", "x").unwrap(),
            "https://kf.example.com/pipeline"
        );
        let err = check_url("u:S3CRET@kf.example.com", UI_ENDPOINT_VAR)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("S3CRET"), "{err}");
        assert!(
            err.starts_with("KF_PIPELINES_UI_ENDPOINT is not an http(s) URL"),
            "{err}"
        );
    }
}
