//! `/admin/audit`: the audit log, newest first, filtered by actor, action, target, outcome and
//! days; each row with time, actor, action, target, client address, user agent, outcome and
//! details; a CSV export of every row the filter selects (`/admin/audit.csv`).

use crate::app::components::time::Time;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
};

use super::{AdminNav, AdminPage, AdminTable};
use crate::app::api::admin::{admin_audit, AuditView};
use crate::model::{query_string, AuditEntry, AuditFilterForm, AuditOutcome};

/// The filter's fields, in the order of the form and of the links.
const FIELDS: [&str; 6] = ["actor", "action", "target", "outcome", "since", "until"];

#[component]
pub fn AdminAuditPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let filters = move || FIELDS.map(param);
    let view_data = Resource::new(
        move || (filters(), param("cursor")),
        |([actor, action, target, outcome, since, until], cursor)| {
            let filter = AuditFilterForm {
                actor: Some(actor),
                action: Some(action),
                target: Some(target),
                outcome: Some(outcome),
                since: Some(since),
                until: Some(until),
            };
            admin_audit(filter, Some(cursor))
        },
    );
    view! {
        <Title text="Audit log · Admin · Coffer"/>
        <AdminPage data=view_data page=move |data| view! {
            <AuditLog data filters=filters() cursor=param("cursor")/>
        }/>
    }
}

#[component]
fn AuditLog(data: AuditView, filters: [String; 6], cursor: String) -> impl IntoView {
    let AuditView { page, actions } = data;
    let [actor, action, target, outcome, since, until] = filters.clone();
    let pairs = |extra: Option<(&'static str, String)>| {
        let mut pairs: Vec<(&str, String)> = FIELDS.iter().copied().zip(filters.clone()).collect();
        pairs.extend(extra);
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        query_string(&borrowed)
    };
    let export = format!("/admin/audit.csv{}", pairs(None));
    let newest = (!cursor.is_empty()).then(|| format!("/admin/audit{}", pairs(None)));
    let older = page
        .next_cursor
        .clone()
        .map(|next| format!("/admin/audit{}", pairs(Some(("cursor", next)))));
    view! {
        <section class="card">
            <h1>"Audit log"</h1>
            <AdminNav/>
            <Form method="GET" action="/admin/audit" attr:class="filters audit-filters" attr:role="search">
                <label>"Actor"
                    <input type="text" name="actor" value=actor maxlength="256"
                        placeholder="Email, username or id" data-testid="filter-actor"/>
                </label>
                <label>"Action"
                    <select name="action" data-testid="filter-action">
                        <option value="">"Any"</option>
                        {actions.into_iter().map(|name| {
                            let selected = name == action;
                            view! { <option value=name.clone() selected=selected>{name.clone()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>"Target"
                    <input type="text" name="target" value=target maxlength="256"
                        placeholder="A user or file id" data-testid="filter-target"/>
                </label>
                <label>"Outcome"
                    <select name="outcome" data-testid="filter-outcome">
                        <option value="">"Any"</option>
                        {AuditOutcome::ALL.map(|o| view! {
                            <option value=o.as_str() selected=outcome == o.as_str()>{o.as_str()}</option>
                        }).into_iter().collect_view()}
                    </select>
                </label>
                <label>"From"
                    <input type="date" name="since" value=since data-testid="filter-since"/>
                </label>
                <label>"To"
                    <input type="date" name="until" value=until data-testid="filter-until"/>
                </label>
                <div class="filter-actions">
                    <button type="submit">"Filter"</button>
                    <A href="/admin/audit">"Clear"</A>
                    // A file download, not a page: the router must not take it.
                    <a href=export rel="external" download="" data-testid="export-csv">"Export CSV"</a>
                </div>
            </Form>
            <p class="muted small">"Times are UTC; “From” and “To” days are both included. The export holds every entry the filter selects."</p>
            {if page.entries.is_empty() {
                view! { <p class="muted empty" data-testid="no-entries">"No entries match."</p> }.into_any()
            } else {
                view! {
                    <AdminTable testid="audit-table"
                        columns=&["Time", "Actor", "Action", "Target", "Client", "Outcome", "Details"]>
                        {page.entries.into_iter().map(|entry| view! { <EntryRow entry/> }).collect_view()}
                    </AdminTable>
                }.into_any()
            }}
            {(newest.is_some() || older.is_some()).then(|| view! {
                <nav class="pager" aria-label="Pages">
                    {newest.map(|href| view! { <A href=href>"← Newest"</A> })}
                    {older.map(|href| view! { <A href=href attr:rel="next" attr:data-testid="older">"Older →"</A> })}
                </nav>
            })}
        </section>
    }
}

#[component]
fn EntryRow(entry: AuditEntry) -> impl IntoView {
    let actor = match (&entry.actor_email, &entry.actor_id) {
        (Some(email), _) => email.clone(),
        (None, Some(id)) => format!("{id} (deleted)"),
        (None, None) => "—".to_owned(),
    };
    let outcome = entry.outcome.as_str();
    view! {
        <tr data-testid="audit-row" data-action=entry.action.clone()>
            <td title=entry.request_id.clone().map(|id| format!("request {id}"))>
                <Time at=entry.at/>
            </td>
            <td class="name">{actor}</td>
            <td><code>{entry.action.clone()}</code></td>
            <td class="name small">{entry.target.clone().unwrap_or_default()}</td>
            <td class="small">
                {entry.ip.clone().unwrap_or_else(|| "—".to_owned())}
                <br/><span class="muted" title=entry.user_agent.clone().unwrap_or_default()>
                    {entry.user_agent.clone().map(|ua| shorten(&ua, 40)).unwrap_or_default()}
                </span>
            </td>
            <td><span class=format!("status outcome-{outcome}")>{outcome}</span></td>
            <td class="name small">{entry.detail.clone().unwrap_or_default()}</td>
        </tr>
    }
}

/// The first `chars` characters of `text`, with an ellipsis when cut.
fn shorten(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(chars).collect();
        short.push('…');
        short
    }
}
