//! A user-agent string in words people recognise: "Chrome 156 on Linux" (Project Woothee's
//! dataset), for the list of a user's signed-in browsers.

use woothee::parser::Parser;

/// What woothee says when it does not know.
const UNKNOWN: &str = "UNKNOWN";
/// What woothee calls curl, Python's requests and the like; their own token says more.
const HTTP_LIBRARY: &str = "HTTP Library";

/// The browser, its major version and the system; for a client woothee does not know, the
/// first product token ("curl 8.5.0"); "Unknown browser" without a user-agent.
pub fn describe(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.map(str::trim).filter(|ua| !ua.is_empty()) else {
        return "Unknown browser".to_owned();
    };
    match Parser::new().parse(ua) {
        Some(found) if found.name != UNKNOWN && found.name != HTTP_LIBRARY => {
            let major = found
                .version
                .split('.')
                .next()
                .filter(|v| !v.is_empty() && *v != UNKNOWN);
            let browser = match major {
                Some(major) => format!("{} {major}", found.name),
                None => found.name.to_owned(),
            };
            if found.os == UNKNOWN {
                browser
            } else {
                format!("{browser} on {}", found.os)
            }
        }
        _ => first_product(ua),
    }
}

/// "curl/8.5.0 (x86_64)" → "curl 8.5.0": the first product token, its version after the slash.
fn first_product(ua: &str) -> String {
    let token = ua.split_whitespace().next().unwrap_or(ua);
    let text = token.replacen('/', " ", 1);
    // A user-agent is whatever the client sent: keep what is shown short.
    text.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_named_with_their_major_version_and_system() {
        assert_eq!(
            describe(Some(
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
            )),
            "Chrome 156 on Linux"
        );
        assert_eq!(
            describe(Some(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0"
            )),
            "Firefox 140 on Windows 10"
        );
        let iphone = describe(Some(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1",
        ));
        assert_eq!(iphone, "Safari 18 on iPhone");
    }

    #[test]
    fn other_clients_and_none_are_said_plainly() {
        assert_eq!(describe(Some("curl/8.5.0")), "curl 8.5.0");
        assert_eq!(describe(Some("   ")), "Unknown browser");
        assert_eq!(describe(None), "Unknown browser");
        assert_eq!(describe(Some(&"x".repeat(500))).chars().count(), 60);
    }
}
