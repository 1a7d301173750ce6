//! Uploads and downloads per day as a small bar chart: plain SVG drawn by the server (and the
//! same markup when hydrated), no chart library.

use leptos::prelude::*;

use crate::model::DayTransfers;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 180.0;
/// Room for the axis labels: left of the bars and below them.
const LEFT: f64 = 36.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 8.0;

/// Bars for each day, uploads beside downloads, scaled to the busiest day; every bar has a
/// tooltip with its day and count, and the chart a text summary for screen readers.
#[component]
pub fn TransferChart(days: Vec<DayTransfers>) -> impl IntoView {
    let peak = days
        .iter()
        .map(|d| d.uploads.max(d.downloads))
        .max()
        .unwrap_or(0)
        .max(1);
    let total_up: u64 = days.iter().map(|d| d.uploads).sum();
    let total_down: u64 = days.iter().map(|d| d.downloads).sum();
    let summary = format!(
        "Uploads and downloads per day over the last {} days: {total_up} uploads, {total_down} downloads; the busiest day had {peak}.",
        days.len()
    );
    let slot = (WIDTH - LEFT) / days.len().max(1) as f64;
    let bar = (slot * 0.4).max(1.0);
    let plot = HEIGHT - BOTTOM - TOP;
    let height = move |n: u64| (n as f64 / peak as f64) * plot;
    let first = days.first().map(|d| d.day.clone()).unwrap_or_default();
    let last = days.last().map(|d| d.day.clone()).unwrap_or_default();
    let bars = days
        .into_iter()
        .enumerate()
        .map(|(i, day)| {
            let x = LEFT + i as f64 * slot + slot * 0.1;
            let (up, down) = (height(day.uploads), height(day.downloads));
            let base = HEIGHT - BOTTOM;
            view! {
                <g>
                    <rect class="bar-up" x=format!("{x:.1}") y=format!("{:.1}", base - up)
                        width=format!("{bar:.1}") height=format!("{up:.1}")>
                        <title>{format!("{}: {} uploads", day.day, day.uploads)}</title>
                    </rect>
                    <rect class="bar-down" x=format!("{:.1}", x + bar) y=format!("{:.1}", base - down)
                        width=format!("{bar:.1}") height=format!("{down:.1}")>
                        <title>{format!("{}: {} downloads", day.day, day.downloads)}</title>
                    </rect>
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart" data-testid="transfer-chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=summary.clone()
                preserveAspectRatio="none">
                <line class="axis" x1=LEFT y1=HEIGHT - BOTTOM x2=WIDTH y2=HEIGHT - BOTTOM/>
                <line class="grid" x1=LEFT y1=TOP x2=WIDTH y2=TOP/>
                <text class="label" x=LEFT - 6.0 y=TOP + 4.0 text-anchor="end">{peak}</text>
                <text class="label" x=LEFT - 6.0 y=HEIGHT - BOTTOM text-anchor="end">"0"</text>
                {bars}
                <text class="label" x=LEFT y=HEIGHT - 6.0>{first}</text>
                <text class="label" x=WIDTH y=HEIGHT - 6.0 text-anchor="end">{last}</text>
            </svg>
            <figcaption>
                <span class="key key-up"></span>"Uploads "
                <span class="key key-down"></span>"Downloads"
                <span class="sr-only">{summary}</span>
            </figcaption>
        </figure>
    }
}
