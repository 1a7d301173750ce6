//! Live scan status: while something on the page waits for a virus scan, read it again every
//! so often, until the scan is done. (On the server, and without JavaScript, nothing polls;
//! such pages offer a "Check again" link instead.)

use std::time::Duration;

use leptos::prelude::*;

/// While `scanning()` is true, bumps `refresh` every `every`; a resource keyed on `refresh`
/// then reads again, and `scanning` is asked afresh.
pub fn refresh_while_scanning(
    refresh: RwSignal<usize>,
    every: Duration,
    scanning: impl Fn() -> bool + 'static,
) {
    Effect::new(move |_| {
        if scanning() {
            set_timeout(move || refresh.update(|n| *n += 1), every);
        }
    });
}
