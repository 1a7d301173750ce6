//! The top bar: the product name, and who is signed in with a sign-out button.

use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_location};

use crate::app::{api::auth::current_user, context::AuthActions};

#[component]
pub fn Header() -> impl IntoView {
    let actions = expect_context::<AuthActions>();
    // Read again on every navigation too: a browser whose session ended elsewhere (signed out
    // everywhere, disabled by an admin) shows it is signed out on its next click.
    let location = use_location();
    let user = Resource::new(
        move || (actions.version(), location.pathname.get()),
        |_| current_user(),
    );

    view! {
        <header class="topbar">
            <A href="/" attr:class="brand">"Coffer"</A>
            <nav class="session">
                <Transition fallback=|| ()>
                    {move || match user.get() {
                        Some(Ok(Some(user))) => view! {
                            <A href="/files">"Files"</A>
                            <A href="/requests">"Requests"</A>
                            <A href="/settings/security">"Security"</A>
                            <A href="/settings/webhooks">"Webhooks"</A>
                            {user.is_admin().then(|| view! { <A href="/admin" attr:data-testid="admin-link">"Admin"</A> })}
                            <span class="whoami" data-testid="whoami">
                                "Signed in as " <strong>{user.username.clone()}</strong>
                                {user.is_admin().then(|| view! { <span class="badge">"admin"</span> })}
                            </span>
                            <ActionForm action=actions.logout attr:class="inline">
                                <button type="submit" class="link-button">"Sign out"</button>
                            </ActionForm>
                        }.into_any(),
                        Some(Ok(None)) => view! {
                            <A href="/login">"Sign in"</A>
                            <A href="/register" attr:class="button">"Create account"</A>
                        }.into_any(),
                        Some(Err(e)) => view! { <span class="form-error" role="alert">{e.detail}</span> }.into_any(),
                        None => ().into_any(),
                    }}
                </Transition>
            </nav>
        </header>
    }
}
