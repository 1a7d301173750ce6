//! A moment as its reader expects it. The server writes it in UTC (that is all a page sent
//! without the wasm can say); the hydrated page rewrites it in the browser's time zone, as
//! "3 hours ago" or "in 20 minutes" when it is near, and keeps the exact UTC time on hover.

use leptos::prelude::*;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

use crate::model::{count, format_utc};

/// How a moment reads in a sentence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Style {
    /// "3 hours ago", "in 2 days" when near, else the local date and time.
    #[default]
    Relative,
    /// Always the local date and time: for "open until …", "since …".
    Absolute,
}

#[component]
pub fn Time(at: OffsetDateTime, #[prop(optional)] style: Style) -> impl IntoView {
    let utc = format_utc(at);
    let text = RwSignal::new(utc.clone());
    // Effects run only in the browser, after hydration: the first paint matches the server's.
    Effect::new(move |_| text.set(browser::local_text(at, style)));
    view! {
        <time datetime=at.format(&Rfc3339).unwrap_or_default() title=utc>{move || text.get()}</time>
    }
}

/// "3 hours ago" / "in 3 hours" for a moment `seconds` from now (negative: past), when it is
/// within two days; `None` further away, where a date says more.
pub fn relative(seconds: i64) -> Option<String> {
    const MINUTE: i64 = 60;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    const CLOCK_SKEW: i64 = 5;
    let span = seconds.unsigned_abs() as i64;
    let amount = match span {
        // A few seconds ahead is the two clocks disagreeing, not the future.
        s if s < MINUTE => {
            return Some(
                if seconds > CLOCK_SKEW {
                    "in under a minute"
                } else {
                    "just now"
                }
                .to_owned(),
            )
        }
        s if s < HOUR => count((s / MINUTE) as u64, "minute", "minutes"),
        s if s < DAY => count((s / HOUR) as u64, "hour", "hours"),
        s if s < 2 * DAY => "1 day".to_owned(),
        _ => return None,
    };
    Some(if seconds < 0 {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    })
}

#[cfg(not(feature = "hydrate"))]
mod browser {
    use super::*;

    pub fn local_text(at: OffsetDateTime, _: Style) -> String {
        format_utc(at)
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::*;
    use wasm_bindgen::JsValue;

    pub fn local_text(at: OffsetDateTime, style: Style) -> String {
        // Whole seconds: what the server keeps.
        let millis = at.unix_timestamp() as f64 * 1000.0;
        if style == Style::Relative {
            let seconds = ((millis - js_sys::Date::now()) / 1000.0).round() as i64;
            if let Some(text) = relative(seconds) {
                return text;
            }
        }
        let options = js_sys::Object::new();
        for (key, value) in [
            ("year", "numeric"),
            ("month", "short"),
            ("day", "numeric"),
            ("hour", "2-digit"),
            ("minute", "2-digit"),
        ] {
            let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
        }
        // The reader's own language orders the date ("8 Dec 2026, 03:28", "Dec 8, 2026, 03:28 AM").
        let language = leptos::prelude::window()
            .navigator()
            .language()
            .unwrap_or_else(|| "en".to_owned());
        js_sys::Date::new(&JsValue::from_f64(millis))
            .to_locale_string(&language, &options)
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_moments_read_relative_and_far_ones_do_not() {
        assert_eq!(relative(-20).as_deref(), Some("just now"));
        assert_eq!(relative(30).as_deref(), Some("in under a minute"));
        assert_eq!(relative(0).as_deref(), Some("just now"));
        assert_eq!(
            relative(3).as_deref(),
            Some("just now"),
            "clocks a little apart"
        );
        assert_eq!(relative(-60).as_deref(), Some("1 minute ago"));
        assert_eq!(relative(-3 * 3600 - 59).as_deref(), Some("3 hours ago"));
        assert_eq!(relative(20 * 60).as_deref(), Some("in 20 minutes"));
        assert_eq!(relative(30 * 3600).as_deref(), Some("in 1 day"));
        assert_eq!(relative(2 * 86_400), None);
        assert_eq!(relative(-9 * 86_400), None);
    }
}
