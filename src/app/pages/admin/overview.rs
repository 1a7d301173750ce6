//! `/admin`: the installation at a glance.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::{AdminNav, AdminPage};
use crate::app::{api::admin::admin_overview, components::transfer_chart::TransferChart};
use crate::model::{count, human_bytes, AdminStats};

#[component]
pub fn AdminOverviewPage() -> impl IntoView {
    let stats = Resource::new(|| (), |_| admin_overview());
    view! {
        <Title text="Admin · Coffer"/>
        <AdminPage data=stats page=|stats| view! { <Overview stats/> }/>
    }
}

#[component]
fn Overview(stats: AdminStats) -> impl IntoView {
    let AdminStats {
        users,
        files,
        active_share_links,
        last_24_hours,
        daily,
    } = stats;
    let scans_waiting = files.scan_pending + files.scan_error;
    let infected_class = if files.scan_infected > 0 { "alarm" } else { "" };
    view! {
        <section class="card">
            <h1>"Admin"</h1>
            <AdminNav/>
            <div class="tiles" data-testid="admin-stats">
                <div class="tile">
                    <h2>"Users"</h2>
                    <p class="figure" data-testid="users-active">{users.active}</p>
                    <p class="muted">
                        {format!("active · {} disabled · {}", users.disabled, count(users.admins, "admin", "admins"))}
                    </p>
                </div>
                <div class="tile">
                    <h2>"Files"</h2>
                    <p class="figure" data-testid="files-count">{files.count}</p>
                    <p class="muted">{format!("{} stored", human_bytes(files.bytes))}</p>
                </div>
                <div class="tile">
                    <h2>"Scans"</h2>
                    <p class="figure">{scans_waiting}</p>
                    <p class="muted">
                        {format!("{} pending · {} failed · ", files.scan_pending, files.scan_error)}
                        <A href="/admin/files?scan_status=infected"
                            attr:class=infected_class>
                            {format!("{} infected", files.scan_infected)}
                        </A>
                    </p>
                </div>
                <div class="tile">
                    <h2>"Share links"</h2>
                    <p class="figure">{active_share_links}</p>
                    <p class="muted">"active"</p>
                </div>
                <div class="tile">
                    <h2>"Last 24 hours"</h2>
                    <p class="figure" data-testid="uploads-24h">{last_24_hours.uploads}</p>
                    <p class="muted">{format!("uploads · {} downloads", last_24_hours.downloads)}</p>
                </div>
            </div>
            <h2>"Uploads and downloads, last 30 days"</h2>
            <TransferChart days=daily/>
        </section>
    }
}
