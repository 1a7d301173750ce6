//! `/settings/webhooks`: the URLs Coffer tells, by a signed JSON `POST`, when a file arrives
//! through an upload request or someone downloads through a share link; each with its latest
//! deliveries. Works without JavaScript.

use crate::app::components::time::{Style, Time};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::{
    api::webhooks::{
        my_webhooks, CreateWebhook, DeleteWebhook, ResumeWebhook, WebhookWithDeliveries,
        WebhooksOverview,
    },
    components::{
        confirm::Confirm,
        copy_button::CopyField,
        form_error::{flash_error, FormError},
        signed_in::SignedInPage,
    },
    context::AuthActions,
};
use crate::model::{count, CreatedWebhook};

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let actions = expect_context::<AuthActions>();
    let create = ServerAction::<CreateWebhook>::new();
    let delete = ServerAction::<DeleteWebhook>::new();
    let resume = ServerAction::<ResumeWebhook>::new();
    let overview = Resource::new(
        move || {
            (
                actions.version(),
                create.version().get(),
                delete.version().get(),
                resume.version().get(),
            )
        },
        |_| my_webhooks(),
    );
    let flash = flash_error();
    let created = Signal::derive(move || create.value().get().and_then(Result::ok));
    let create_result = Signal::derive(move || create.value().get().map(|r| r.map(|_| ())));
    view! {
        <Title text="Webhooks · Coffer"/>
        <SignedInPage data=overview title="Webhooks"
            sign_in="Sign in to manage your webhooks."
            page=move |WebhooksOverview { webhooks, just_created }| {
                let newest = move || created.get().or_else(|| just_created.clone());
                view! {
                    <section class="card">
                        <h1>"Webhooks"</h1>
                        <p class="muted">"Coffer posts a JSON event to each URL when a file arrives through one of your upload requests (those with “notify” on) or someone downloads through one of your share links. Each body is signed: "
                            <code>"X-Coffer-Signature-256: sha256=<HMAC-SHA256 of “<X-Coffer-Timestamp>.<body>” under the secret>"</code>
                            ". A receiver that does not answer 2xx gets the event again later, up to 10 times; a webhook that keeps failing is suspended until you resume it."</p>
                        {move || newest().map(|created| view! { <NewWebhook created/> })}
                        <ActionForm action=create attr:class="stack" attr:aria-label="New webhook">
                            <FormError result=create_result flash/>
                            <label>"URL"
                                <input type="url" name="url" required placeholder="https://example.org/coffer-events"
                                    data-testid="webhook-url"/>
                            </label>
                            <label class="check"><input type="checkbox" name="on_request" value="on" checked/>
                                " A file arrives through an upload request"</label>
                            <label class="check"><input type="checkbox" name="on_share" value="on" checked/>
                                " Someone downloads through a share link"</label>
                            <button type="submit" data-testid="create-webhook">"Add webhook"</button>
                        </ActionForm>
                    </section>
                    {if webhooks.is_empty() {
                        view! { <p class="muted empty" data-testid="no-webhooks">"No webhooks yet."</p> }.into_any()
                    } else {
                        webhooks.into_iter().map(|hook| view! { <WebhookCard hook delete resume/> }).collect_view().into_any()
                    }}
                }
            }/>
    }
}

#[component]
fn NewWebhook(created: CreatedWebhook) -> impl IntoView {
    view! {
        <div class="new-link" data-testid="new-webhook" role="status">
            <p><strong>"Webhook added."</strong> " Copy its signing secret now: it is shown only this once."</p>
            <CopyField text=created.secret label="Signing secret"/>
        </div>
    }
}

#[component]
fn WebhookCard(
    hook: WebhookWithDeliveries,
    delete: ServerAction<DeleteWebhook>,
    resume: ServerAction<ResumeWebhook>,
) -> impl IntoView {
    let WebhookWithDeliveries {
        webhook,
        deliveries,
    } = hook;
    let id = webhook.id.clone();
    let suspended = webhook.suspended_at.map(|at| {
        let id = webhook.id.clone();
        let failures = webhook.consecutive_failures;
        view! {
            <div class="notice stack" role="status" data-testid="webhook-suspended">
                <p><strong>"Suspended"</strong>
                    " since " <Time at style=Style::Absolute/>
                    {format!(" after {failures} failed attempts in a row. Nothing is sent to this URL until you resume it; events wait meanwhile.")}</p>
                <ActionForm action=resume attr:class="inline">
                    <input type="hidden" name="id" value=id/>
                    <button type="submit" data-testid="resume-webhook">"Resume"</button>
                </ActionForm>
            </div>
        }
    });
    let missed = (webhook.missed_events > 0).then(|| view! {
        <p class="notice small" data-testid="webhook-missed">{format!(
            "{} not queued for this webhook because 1,000 deliveries were already waiting for it.",
            count(webhook.missed_events, "event was", "events were"),
        )}</p>
    });
    view! {
        <section class="card" data-testid="webhook-card">
            <h2 class="name">{webhook.url.clone()}</h2>
            <p class="muted small">"Events: " {webhook.events.join(", ")} " · added " <Time at=webhook.created_at/></p>
            {suspended}
            {missed}
            <Confirm ask="Delete" warning="Events stop going to this URL, and its deliveries are forgotten.">
                <ActionForm action=delete attr:class="inline">
                    <input type="hidden" name="id" value=id/>
                    <button type="submit" class="danger" data-testid="delete-webhook">"Delete webhook"</button>
                </ActionForm>
            </Confirm>
            {if deliveries.is_empty() {
                view! { <p class="muted small">"Nothing sent yet."</p> }.into_any()
            } else {
                view! {
                    <table class="data-table" data-testid="deliveries">
                        <thead><tr>
                            <th scope="col">"Event"</th><th scope="col">"When"</th>
                            <th scope="col">"Status"</th><th scope="col">"Attempts"</th><th scope="col">"Last answer"</th>
                        </tr></thead>
                        <tbody>
                            {deliveries.into_iter().map(|d| {
                                let answer = d.last_error.clone()
                                    .or_else(|| d.last_status.map(|s| format!("HTTP {s}")))
                                    .unwrap_or_default();
                                view! {
                                    <tr data-testid="delivery">
                                        <td>{d.event}</td>
                                        <td><Time at=d.created_at/></td>
                                        <td><span class=format!("status delivery-{}", d.status)>{d.status.clone()}</span></td>
                                        <td data-label="Attempts">{d.attempts}</td>
                                        <td class="muted small">{answer}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
